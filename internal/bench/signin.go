package bench

import (
	"context"
	"fmt"
	"sync"

	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/lifecycle"
)

// SignIn gets the bench's people their ID tokens from the OpenID provider,
// as they would sign in (device flow, username and password), once each.
type SignIn struct {
	Issuer, ClientID, Password string

	mu     sync.Mutex
	tokens map[string]string
}

// Token is the ID token of the actor's person.
func (s *SignIn) Token(ctx context.Context, a lifecycle.Actor) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok, ok := s.tokens[a.ID]; ok {
		return tok, nil
	}
	tok, err := devstack.SignInDevice(ctx, s.Issuer, s.ClientID, a.ID, s.Password)
	if err != nil {
		return "", fmt.Errorf("sign in %s at %s: %w", a.ID, s.Issuer, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", fmt.Errorf("sign in %s: no ID token", a.ID)
	}
	if s.tokens == nil {
		s.tokens = map[string]string{}
	}
	s.tokens[a.ID] = raw
	return raw, nil
}
