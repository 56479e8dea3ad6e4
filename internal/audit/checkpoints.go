package audit

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/daect/expectct/internal/checkpoint"
	"github.com/daect/expectct/internal/store"
)

// Checkpoints is what VerifyWith checks the journals against.
type Checkpoints struct {
	// Keys check the checkpoints' signatures (EXPECTCT_CHECKPOINT_PUBLIC_KEYS).
	Keys checkpoint.PublicKeys
	// Exported are checkpoints kept off-site (`expectct audit checkpoint
	// export`), nil when none are given: each must still be in the
	// database, identical, and what they sign is checked like the rest.
	Exported []store.Checkpoint
}

// signedHead is one (seq, hash) of a chain that a valid checkpoint signed.
type signedHead struct {
	seq        int64
	hash       string
	checkpoint int64
}

// signedHeads are every distinct head the valid checkpoints signed.
type signedHeads struct {
	apps  map[string][]signedHead
	dir   []signedHead
	valid int
}

// checkCheckpoints checks the checkpoints' signatures and sequence, and the
// exported copies against the stored ones; it returns what the valid ones
// sign. A checkpoint whose signature fails proves nothing and is reported.
func checkCheckpoints(stored []store.Checkpoint, opts Checkpoints) ([]Problem, signedHeads) {
	heads := signedHeads{apps: map[string][]signedHead{}}
	var problems []Problem
	report := func(format string, args ...any) {
		problems = append(problems, Problem{Problem: fmt.Sprintf(format, args...)})
	}
	if len(opts.Keys) == 0 {
		if len(stored) > 0 || opts.Exported != nil {
			report("%d checkpoint(s) cannot be checked: EXPECTCT_CHECKPOINT_PUBLIC_KEYS is not set", len(stored)+len(opts.Exported))
		}
		return problems, heads
	}
	if len(stored) == 0 && len(opts.Exported) == 0 {
		report("no checkpoint to check the journals against: the checkpoints table is empty (emptied, or the worker has no EXPECTCT_CHECKPOINT_KEY)")
		return problems, heads
	}

	var bodies []store.CheckpointBody
	bySeq := map[int64]store.Checkpoint{}
	var prev store.Checkpoint
	for _, c := range stored {
		bySeq[c.Seq] = c
		body, err := opts.Keys.Check(c)
		if err != nil {
			report("checkpoint %d: %v", c.Seq, err)
		} else {
			bodies = append(bodies, body)
		}
		switch {
		case c.Seq != prev.Seq+1 && prev.Seq == 0:
			report("checkpoint %d is the first in the database: checkpoints 1 to %d are missing (removed)", c.Seq, c.Seq-1)
		case c.Seq != prev.Seq+1:
			report("checkpoint %d follows checkpoint %d: checkpoints %d to %d are missing (removed)", c.Seq, prev.Seq, prev.Seq+1, c.Seq-1)
		case err == nil && prev.Seq > 0 && body.Prev != store.BodyHash(prev.Body):
			report("checkpoint %d does not name checkpoint %d as the one before it: one of them was replaced", c.Seq, prev.Seq)
		}
		prev = c
	}
	for _, e := range opts.Exported {
		body, err := opts.Keys.Check(e)
		if err != nil {
			report("exported checkpoint %d: %v", e.Seq, err)
			continue
		}
		bodies = append(bodies, body)
		s, ok := bySeq[e.Seq]
		switch {
		case !ok:
			report("exported checkpoint %d (%s) is not in the database: removed", e.Seq, e.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"))
		case s.Body != e.Body || s.Signature != e.Signature:
			report("checkpoint %d in the database differs from the exported one: replaced", e.Seq)
		}
	}

	seen := map[int64]bool{}
	add := func(list []signedHead, h signedHead, what string) []signedHead {
		for _, o := range list {
			if o.seq == h.seq {
				if o.hash != h.hash {
					report("checkpoints %d and %d sign different hashes for %s seq %d", o.checkpoint, h.checkpoint, what, h.seq)
				}
				return list
			}
		}
		return append(list, h)
	}
	for _, b := range bodies {
		seen[b.Seq] = true
		if b.Applications != len(b.Heads) {
			report("checkpoint %d signs %d applications but lists %d", b.Seq, b.Applications, len(b.Heads))
		}
		for _, h := range b.Heads {
			heads.apps[h.ID] = add(heads.apps[h.ID], signedHead{h.Seq, h.Hash, b.Seq}, "application "+h.ID)
		}
		if b.Directory.Seq > 0 {
			heads.dir = add(heads.dir, signedHead{b.Directory.Seq, b.Directory.Hash, b.Seq}, "the people directory")
		}
	}
	heads.valid = len(seen)
	return problems, heads
}

// chainRow is one row of a chain as the checkpoints see it.
type chainRow struct {
	seq  int64
	hash string
}

// checkSigned compares a chain's rows now with the heads checkpoints
// signed: a signed row must still be there with the same hash (a rewrite,
// even with every hash recomputed, changes the hash of the rows after it),
// and the chain must reach the highest seq signed (a truncated tail, or a
// deleted chain, does not).
func checkSigned(rows []chainRow, signed []signedHead, report func(seq int64, format string, args ...any)) {
	if len(signed) == 0 {
		return
	}
	signed = slices.Clone(signed)
	slices.SortFunc(signed, func(a, b signedHead) int { return cmp.Compare(a.seq, b.seq) })
	top := signed[len(signed)-1]
	if len(rows) == 0 {
		report(top.seq, "deleted: checkpoint %d signed its journal up to seq %d, there is no row now", top.checkpoint, top.seq)
		return
	}
	bySeq := map[int64]string{}
	for _, r := range rows {
		bySeq[r.seq] = r.hash
	}
	last := rows[len(rows)-1].seq
	if top.seq > last {
		report(top.seq, "truncated: checkpoint %d signed seq %d, the journal ends at seq %d", top.checkpoint, top.seq, last)
	}
	for _, h := range signed {
		hash, ok := bySeq[h.seq]
		switch {
		case h.seq > last:
		case !ok:
			report(h.seq, "row missing: checkpoint %d signed seq %d", h.checkpoint, h.seq)
		case hash != h.hash:
			report(h.seq, "rewritten: the hash of seq %d is not the one checkpoint %d signed (this row or one before it was changed)", h.seq, h.checkpoint)
		}
	}
}

// checkDirectory checks the people directory's journal: its chain, and
// against the checkpoints.
func checkDirectory(ctx context.Context, st *store.Store, signed []signedHead) ([]Problem, error) {
	entries, err := st.DirectoryJournal(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("read the people directory's journal: %w", err)
	}
	var problems []Problem
	report := func(seq int64, format string, args ...any) {
		problems = append(problems, Problem{Seq: int(seq), Problem: "people directory journal: " + fmt.Sprintf(format, args...)})
	}
	prev := ""
	rows := make([]chainRow, 0, len(entries))
	for i, e := range entries {
		if e.Seq != int64(i+1) {
			report(e.Seq, "sequence gap: expected %d", i+1)
		}
		if e.PrevHash != prev {
			report(e.Seq, "previous hash does not match the previous row")
		}
		if e.ChainHash() != e.Hash {
			report(e.Seq, "row content does not match its hash (altered)")
		}
		prev = e.Hash
		rows = append(rows, chainRow{e.Seq, e.Hash})
	}
	checkSigned(rows, signed, report)
	return problems, nil
}
