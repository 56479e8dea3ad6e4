package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/daect/expectct/internal/lifecycle"
)

// TakeCheckpoint signs the head of every chain with the worker's checkpoint
// key and stores the checkpoint (internal/checkpoint); nothing is stored
// when no chain moved since the last one. Idempotent: a retry finds the
// chains as the first attempt left them and appends nothing.
func (a *Activities) TakeCheckpoint(ctx context.Context) (lifecycle.CheckpointTaken, error) {
	if a.Checkpoint == nil {
		return lifecycle.CheckpointTaken{}, temporal.NewNonRetryableApplicationError(
			"this worker has no EXPECTCT_CHECKPOINT_KEY: it cannot sign checkpoints", "NoCheckpointKey", errors.New("no checkpoint key"))
	}
	c, appended, err := a.Store.AppendCheckpoint(ctx, a.Checkpoint)
	if err != nil {
		return lifecycle.CheckpointTaken{}, err
	}
	if appended && a.Log != nil {
		a.Log.Info("checkpoint signed", "seq", c.Seq, "key_id", c.KeyID)
	}
	return lifecycle.CheckpointTaken{Seq: c.Seq, Appended: appended}, nil
}
