package config

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/client"
)

// GrpcCompression is how calls to Temporal are compressed. With the codec on,
// every payload is deflated then sealed before it leaves the process, and
// ciphertext does not compress: gzip on the connection would spend CPU at
// both ends of every call (the SDK builds a compressor per call) for the few
// bytes of metadata around the payloads.
func (c *Config) GrpcCompression() (client.GrpcCompression, error) {
	switch strings.TrimSpace(c.TemporalCompression) {
	case "", "auto":
		if strings.TrimSpace(c.CodecKeys) != "" {
			return &client.GrpcCompressionNone{}, nil
		}
		return &client.GrpcCompressionGzip{}, nil
	case "gzip":
		return &client.GrpcCompressionGzip{}, nil
	case "none":
		return &client.GrpcCompressionNone{}, nil
	}
	return nil, fmt.Errorf("TEMPORAL_GRPC_COMPRESSION=%q: want auto, gzip or none", c.TemporalCompression)
}
