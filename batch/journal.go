package batch

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Journal is an append-only file of finished images, one line each (the
// CLI's JSON lines), that lets a cut run be completed: open it, skip the
// images it holds, append the rest.
//
// Durability: each line is written with a single write call, so a process
// killed at any moment (SIGKILL included) leaves only whole lines, and the
// file is fsynced after every line (Sync policy PerLine), so a line that
// Append returned for survives a machine crash too. Should a machine crash
// or a full disk leave a partial last line anyway, OpenJournal detects it
// (no final newline) and truncates it away; that image is done again.
//
// A Journal is not safe for concurrent use; on Unix, OpenJournal takes an
// exclusive advisory lock on the file, so two runs cannot append to the
// same journal at once.
type Journal struct {
	f    *os.File
	done map[string]int // key -> line number (1-based) of its first line
	// Lines is the number of whole lines read when opening.
	Lines int
	// Duplicates counts lines whose key an earlier line already had (from
	// files concatenated by hand, say): harmless, the image is done.
	Duplicates int
	// Truncated is the number of bytes of a partial last line removed
	// when opening (0 if the file ended with a newline).
	Truncated int64
}

// ErrJournal reports a journal that cannot be used: a whole line that is
// not one of ours (not a torn write: those are only ever the last line).
var ErrJournal = errors.New("batch: bad journal")

// ErrJournalLocked reports a journal another process has open.
var ErrJournalLocked = errors.New("batch: journal in use by another run")

// OpenJournal opens (creating if needed) the journal at path for reading
// and appending. key extracts an image's key from one line without its
// newline; an error from it for any whole line makes OpenJournal fail
// with ErrJournal naming the line, leaving the file untouched, since such
// a file was not written by a run (or the wrong file was given). A partial
// last line is truncated away.
func OpenJournal(path string, key func(line []byte) (string, error)) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("batch: journal: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrJournalLocked, path, err)
	}
	j := &Journal{f: f, done: map[string]int{}}
	if err := j.load(path, key); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

func (j *Journal) load(path string, key func([]byte) (string, error)) error {
	br := bufio.NewReaderSize(j.f, 1<<16)
	var good int64 // bytes of whole lines
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			j.Lines++
			body := bytes.TrimRight(line, "\r\n")
			if len(bytes.TrimSpace(body)) > 0 {
				k, kerr := key(body)
				if kerr != nil {
					return fmt.Errorf("%w: %s:%d: %w", ErrJournal, path, j.Lines, kerr)
				}
				if _, dup := j.done[k]; dup {
					j.Duplicates++
				} else {
					j.done[k] = j.Lines
				}
			}
			good += int64(len(line))
		} else if len(line) > 0 {
			j.Truncated = int64(len(line)) // torn last line
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("batch: journal: reading %s: %w", path, err)
		}
	}
	if j.Truncated > 0 {
		if err := j.f.Truncate(good); err != nil {
			return fmt.Errorf("batch: journal: truncating the partial last line of %s: %w", path, err)
		}
	}
	if _, err := j.f.Seek(good, io.SeekStart); err != nil {
		return fmt.Errorf("batch: journal: %w", err)
	}
	return nil
}

// Done reports whether an image with this key has a line.
func (j *Journal) Done(key string) bool {
	_, ok := j.done[key]
	return ok
}

// Keys returns how many distinct keys the journal holds.
func (j *Journal) Keys() int { return len(j.done) }

// Foreign counts the journal's keys for which in reports false: lines of
// images outside the current run (another tree, another shard, files since
// deleted). They are kept in the file and otherwise ignored.
func (j *Journal) Foreign(in func(key string) bool) int {
	n := 0
	for k := range j.done {
		if !in(k) {
			n++
		}
	}
	return n
}

// Append writes line (which must end in a newline and hold no other) with
// one write call, syncs the file and records key as done.
func (j *Journal) Append(key string, line []byte) error {
	if len(line) == 0 || line[len(line)-1] != '\n' || bytes.IndexByte(line[:len(line)-1], '\n') >= 0 {
		return fmt.Errorf("batch: journal: a line must end in its only newline")
	}
	if _, err := j.f.Write(line); err != nil {
		return fmt.Errorf("batch: journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("batch: journal: %w", err)
	}
	if _, dup := j.done[key]; !dup {
		j.done[key] = -1
	}
	return nil
}

// Close closes the file (releasing its lock).
func (j *Journal) Close() error { return j.f.Close() }
