package lifecycle

// CheckpointTaken is what the checkpoint workflow's activity answers: the
// latest checkpoint's seq, and whether this run appended it (false when no
// chain had moved since).
type CheckpointTaken struct {
	Seq      int64 `json:"seq"`
	Appended bool  `json:"appended"`
}
