package batch

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKey(line []byte) (string, error) {
	var v struct{ Image string }
	if err := json.Unmarshal(line, &v); err != nil {
		return "", err
	}
	if v.Image == "" {
		return "", errors.New("no image")
	}
	return v.Image, nil
}

func TestJournal(t *testing.T) {
	for _, tc := range []struct {
		name      string
		content   string
		done      []string
		truncated int64
		after     string // content after opening
		err       error
	}{
		{"new", "", nil, 0, "", nil},
		{"whole", `{"image":"a"}` + "\n" + `{"image":"b"}` + "\n", []string{"a", "b"}, 0, `{"image":"a"}` + "\n" + `{"image":"b"}` + "\n", nil},
		{"torn", `{"image":"a"}` + "\n" + `{"ima`, []string{"a"}, 5, `{"image":"a"}` + "\n", nil},
		{"torn valid JSON without newline", `{"image":"a"}` + "\n" + `{"image":"b"}`, []string{"a"}, 13, `{"image":"a"}` + "\n", nil},
		{"blank lines", "\n" + `{"image":"a"}` + "\n\n", []string{"a"}, 0, "\n" + `{"image":"a"}` + "\n\n", nil},
		{"bad middle line", `{"image":"a"}` + "\ngarbage\n" + `{"image":"b"}` + "\n", nil, 0, `{"image":"a"}` + "\ngarbage\n" + `{"image":"b"}` + "\n", ErrJournal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "r.jsonl")
			if tc.content != "" {
				if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			j, err := OpenJournal(p, testKey)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), "r.jsonl:2") {
					t.Fatalf("error %v, want %v naming line 2", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else {
				for _, k := range tc.done {
					if !j.Done(k) {
						t.Errorf("%s not done", k)
					}
				}
				if j.Keys() != len(tc.done) || j.Truncated != tc.truncated {
					t.Errorf("keys %d truncated %d, want %d, %d", j.Keys(), j.Truncated, len(tc.done), tc.truncated)
				}
				if err := j.Append("c", []byte(`{"image":"c"}`+"\n")); err != nil {
					t.Fatal(err)
				}
				if !j.Done("c") {
					t.Error("appended key not done")
				}
				j.Close()
				tc.after += `{"image":"c"}` + "\n"
			}
			got, _ := os.ReadFile(p)
			if string(got) != tc.after {
				t.Errorf("file %q, want %q", got, tc.after)
			}
		})
	}
}

func TestJournalForeignAndLock(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.jsonl")
	os.WriteFile(p, []byte(`{"image":"a"}`+"\n"+`{"image":"other/x"}`+"\n"+`{"image":"a"}`+"\n"), 0o644)
	j, err := OpenJournal(p, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if n := j.Foreign(func(k string) bool { return k == "a" || k == "b" }); n != 1 {
		t.Errorf("Foreign = %d, want 1", n)
	}
	if j.Duplicates != 1 || j.Lines != 3 {
		t.Errorf("Duplicates %d Lines %d, want 1, 3", j.Duplicates, j.Lines)
	}
	if err := j.Append("b", []byte("two\nlines\n")); err == nil {
		t.Error("a line with two newlines was appended")
	}
	if _, err := OpenJournal(p, testKey); !errors.Is(err, ErrJournalLocked) {
		t.Errorf("second open: %v, want ErrJournalLocked", err)
	}
}
