package batch

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseShard: ParseShard never panics, and what it accepts is valid
// and prints back to an equivalent shard.
func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"0/1", "2/3", "3/3", "x", "-1/2", "1/0", " 1 / 4 ", "9999999999999999999/1", "0/-5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := ParseShard(s)
		if err != nil {
			return
		}
		if sh.Validate() != nil || sh.Count < 1 {
			t.Fatalf("%q accepted as invalid %v", s, sh)
		}
		again, err := ParseShard(sh.String())
		if err != nil || again != sh {
			t.Fatalf("%q -> %v -> %v, %v", s, sh, again, err)
		}
	})
}

// FuzzOpenJournal: any file content either opens (keeping exactly its
// whole lines, in place) or is refused untouched; never a panic.
func FuzzOpenJournal(f *testing.F) {
	f.Add([]byte(`{"image":"a"}` + "\n" + `{"image":"b"}` + "\n"))
	f.Add([]byte(`{"image":"a"}` + "\n" + `{"ima`))
	f.Add([]byte("garbage\n"))
	f.Add([]byte("\n\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "j.jsonl")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		j, err := OpenJournal(p, testKey)
		got, _ := os.ReadFile(p)
		if err != nil {
			if !bytes.Equal(got, data) {
				t.Fatal("a refused journal was changed")
			}
			return
		}
		j.Close()
		whole := data[:bytes.LastIndexByte(data, '\n')+1]
		if !bytes.Equal(got, whole) || j.Truncated != int64(len(data)-len(whole)) {
			t.Fatalf("kept %q (truncated %d) of %q", got, j.Truncated, data)
		}
	})
}
