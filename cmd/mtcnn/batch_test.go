package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// astronaut is the repository's sample photo (one face).
const astronaut = "../../testdata/astronaut.png"

// photoTree copies the sample photo to each slash path under a new
// directory and returns it.
func photoTree(t *testing.T, names ...string) string {
	t.Helper()
	data, err := os.ReadFile(astronaut)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// imagesOf returns the "image" fields of JSON lines, in order.
func imagesOf(t *testing.T, out string) []string {
	t.Helper()
	var names []string
	for _, r := range decodeLines(t, out) {
		names = append(names, r.Image)
	}
	return names
}

// TestDetectTree runs detect over a folder tree: equal names in two
// folders, a file that is not an image, a hidden file, a symbolic-link
// loop, -o mirroring the tree, the order of relative paths.
func TestDetectTree(t *testing.T) {
	dir := photoTree(t, "b/IMG_0001.png", "a/IMG_0001.png", "a/deeper/x.jpg", ".hidden/y.png", "a/.z.png")
	os.WriteFile(filepath.Join(dir, "a", "notes.txt"), []byte("hello"), 0o644)
	os.Symlink("..", filepath.Join(dir, "a", "loop"))
	out := t.TempDir()
	stdout, stderr, code := runCLI("detect", "-json", "-o", out, dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := []string{
		filepath.Join(dir, "a", "IMG_0001.png"),
		filepath.Join(dir, "a", "deeper", "x.jpg"), // a PNG by content
		filepath.Join(dir, "b", "IMG_0001.png"),
	}
	res := decodeLines(t, stdout)
	if got := imagesOf(t, stdout); !slices.Equal(got, want) {
		t.Fatalf("images %q, want %q", got, want)
	}
	for _, r := range res {
		if len(r.Faces) != 1 || r.Width != 512 {
			t.Errorf("%s: %dx%d, %d faces", r.Image, r.Width, r.Height, len(r.Faces))
		}
	}
	for _, rel := range []string{"a/IMG_0001.png.png", "b/IMG_0001.png.png", "a/deeper/x.jpg.png"} {
		if st, err := os.Stat(filepath.Join(out, rel)); err != nil || st.Size() == 0 {
			t.Errorf("output %s: %v", rel, err)
		}
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "skipping "+filepath.Join(dir, "a", "notes.txt")+": not an image") ||
		!strings.Contains(lines[1], "3 images, 3 faces, 0 errors (1 not images)") {
		t.Errorf("stderr %q: want the skipped note and the summary", stderr)
	}
}

// TestDetectTreeErrors: an unreadable file and a repeated directory.
func TestDetectTreeErrors(t *testing.T) {
	dir := photoTree(t, "a/1.png", "a/2.png")
	unreadable := filepath.Join(dir, "a", "locked.png")
	os.WriteFile(unreadable, []byte("x"), 0o000)
	if os.Getuid() == 0 {
		// root reads any file: use one whose read fails for everyone.
		unreadable = "/proc/self/mem"
	}
	stdout, stderr, code := runCLI("detect", "-json", "-quiet", dir, filepath.Join(dir, "a"), unreadable)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if got := imagesOf(t, stdout); len(got) != 2 {
		t.Errorf("images %q, want a/1.png and a/2.png once", got)
	}
	if !strings.Contains(stderr, "already walked") || !strings.Contains(stderr, unreadable) {
		t.Errorf("stderr %q: want the repeated folder and the unreadable file named", stderr)
	}
}

func TestDetectShards(t *testing.T) {
	var names []string
	for i := range 12 {
		names = append(names, fmt.Sprintf("f%d/IMG_%02d.png", i%3, i))
	}
	dir := photoTree(t, names...)
	all, stderr, code := runCLI("detect", "-json", "-quiet", "-min-size", "200", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	count := map[string]int{}
	for i := range 3 {
		out, stderr, code := runCLI("detect", "-json", "-quiet", "-min-size", "200", "-shard", fmt.Sprintf("%d/3", i), dir)
		if code != 0 {
			t.Fatalf("shard %d: exit %d: %s", i, code, stderr)
		}
		for _, n := range imagesOf(t, out) {
			count[n]++
		}
	}
	for _, n := range imagesOf(t, all) {
		if count[n] != 1 {
			t.Errorf("%s in %d shards, want 1", n, count[n])
		}
	}
	if len(count) != 12 {
		t.Errorf("shards hold %d images, want 12", len(count))
	}
	for _, bad := range []string{"3/3", "x", "-1/3", "1/0"} {
		_, stderr, code := runCLI("detect", "-shard", bad, dir)
		if code != 2 || !strings.Contains(stderr, "invalid shard") {
			t.Errorf("-shard %s: exit %d, stderr %q", bad, code, stderr)
		}
	}
}

func TestDetectCSV(t *testing.T) {
	dir := photoTree(t, "a,b/one.png", "two.png")
	js, _, code := runCLI("detect", "-json", dir)
	if code != 0 {
		t.Fatal(code)
	}
	out, stderr, code := runCLI("detect", "-format", "csv", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	res := decodeLines(t, js)
	if len(rows) != 3 || len(rows[0]) != 17 || rows[0][0] != "image" {
		t.Fatalf("csv %q", out)
	}
	for i, r := range res {
		row := rows[i+1]
		f := r.Faces[0]
		want := []float32{f.Box[0], f.Box[1], f.Box[2], f.Box[3], f.Score, f.Landmarks[0][0], f.Landmarks[0][1], f.Landmarks[4][0], f.Landmarks[4][1]}
		var got []float32
		for _, c := range []int{2, 3, 4, 5, 6, 7, 8, 15, 16} {
			v, err := strconv.ParseFloat(row[c], 32)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, float32(v))
		}
		if row[0] != r.Image || row[1] != "0" || !slices.Equal(got, want) {
			t.Errorf("row %q, want %s face 0 %v", row, r.Image, want)
		}
	}
	for _, args := range [][]string{{"-format", "xml"}, {"-json", "-format", "csv"}, {"-format", "csv", "-resume", filepath.Join(dir, "r.jsonl")}} {
		if _, stderr, code := runCLI(append(append([]string{"detect"}, args...), dir)...); code != 2 {
			t.Errorf("%v: exit %d (%s), want 2", args, code, stderr)
		}
	}
}

func TestDetectProgress(t *testing.T) {
	dir := photoTree(t, "a.png", "b.png", "c.png")
	old := isTerminal
	isTerminal = func(io.Writer) bool { return true }
	defer func() { isTerminal = old }()
	_, stderr, code := runCLI("detect", "-json", dir)
	if code != 0 || !strings.Contains(stderr, "/3, ") || !strings.Contains(stderr, "images/s") ||
		!strings.Contains(stderr, "3 images, 3 faces") {
		t.Errorf("exit %d, stderr %q: want a bar reaching 3/3 and the summary", code, stderr)
	}
	_, stderr, _ = runCLI("detect", "-json", "-quiet", dir)
	if stderr != "" {
		t.Errorf("-quiet printed %q", stderr)
	}
	isTerminal = func(io.Writer) bool { return false }
	_, stderr, _ = runCLI("detect", "-json", dir)
	if strings.Contains(stderr, "/3, ") {
		t.Errorf("a bar without a terminal: %q", stderr)
	}
}

// TestDetectResumeFile: a torn last line, lines from another run, a file
// that is not a journal.
func TestDetectResumeFile(t *testing.T) {
	dir := photoTree(t, "a.png", "b.png", "c.png")
	full, _, _ := runCLI("detect", "-json", dir)
	lines := strings.SplitAfter(full, "\n")
	journal := filepath.Join(t.TempDir(), "r.jsonl")
	other := `{"image":"/elsewhere/x.jpg","width":1,"height":1,"faces":[]}` + "\n"
	// a.png done, b.png torn mid-line by a crash.
	os.WriteFile(journal, []byte(other+lines[0]+lines[1][:20]), 0o644)
	stdout, stderr, code := runCLI("detect", "-resume", journal, dir)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "partial last line") || !strings.Contains(stderr, "1 line(s) name images outside this run") {
		t.Errorf("stderr %q", stderr)
	}
	got, _ := os.ReadFile(journal)
	if want := other + lines[0] + lines[1] + lines[2]; string(got) != want {
		t.Errorf("journal\n%s\nwant\n%s", got, want)
	}
	// Everything done: nothing to add.
	if _, stderr, code := runCLI("detect", "-resume", journal, dir); code != 0 {
		t.Errorf("second resume: exit %d: %s", code, stderr)
	}
	if again, _ := os.ReadFile(journal); !bytes.Equal(again, got) {
		t.Errorf("a finished journal changed")
	}
	// Not a journal: refused, untouched.
	notJournal := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notJournal, []byte("dear diary\nsecond line\n"), 0o644)
	if _, stderr, code := runCLI("detect", "-resume", notJournal, dir); code != 2 || !strings.Contains(stderr, "notes.txt:1") {
		t.Errorf("not a journal: exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(notJournal); string(b) != "dear diary\nsecond line\n" {
		t.Errorf("not-a-journal file changed: %q", b)
	}
}

// TestHelperProcess is the command line in a child process for the tests
// that kill it; it does nothing in a normal run.
func TestHelperProcess(t *testing.T) {
	args := os.Getenv("MTCNN_HELPER_ARGS")
	if args == "" {
		t.Skip("helper process only")
	}
	// As main does: SIGINT and SIGTERM cancel the run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, strings.Split(args, "\x1f"), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// TestDetectResumeKilled kills a run with SIGKILL part-way, resumes it, and
// checks that the journal then holds every image exactly once, with the
// results of an uninterrupted run.
func TestDetectResumeKilled(t *testing.T) { testResumeAfter(t, syscall.SIGKILL) }

// TestDetectResumeTerminated does the same with SIGTERM, which the
// command handles: it stops, says how to finish, exits 1.
func TestDetectResumeTerminated(t *testing.T) { testResumeAfter(t, syscall.SIGTERM) }

func testResumeAfter(t *testing.T, sig syscall.Signal) {
	if testing.Short() {
		t.Skip("runs detect over 24 photos")
	}
	var names []string
	for i := range 24 {
		names = append(names, fmt.Sprintf("d%d/IMG_%02d.png", i%2, i))
	}
	dir := photoTree(t, names...)
	journal := filepath.Join(t.TempDir(), "r.jsonl")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "MTCNN_HELPER_ARGS="+strings.Join([]string{"detect", "-workers", "2", "-resume", journal, dir}, "\x1f"))
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		b, _ := os.ReadFile(journal)
		if bytes.Count(b, []byte("\n")) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no progress: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(sig)
	err := cmd.Wait()
	cut, _ := os.ReadFile(journal)
	n := bytes.Count(cut, []byte("\n"))
	if n >= len(names) {
		t.Skipf("the run finished (%d lines) before the signal", n)
	}
	t.Logf("%v after %d of %d lines", sig, n, len(names))
	if sig == syscall.SIGTERM {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(errb.String(), "run again with the same -resume file") {
			t.Errorf("SIGTERM: %v, stderr %q; want exit 1 and how to finish", err, errb.String())
		}
		if len(cut) > 0 && cut[len(cut)-1] != '\n' {
			t.Error("SIGTERM left a partial line")
		}
	}

	_, stderr, code := runCLI("detect", "-resume", journal, dir)
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	got, _ := os.ReadFile(journal)
	count := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(got))
	for sc.Scan() {
		var r detectResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("journal line %q: %v", sc.Text(), err)
		}
		count[r.Image]++
		if len(r.Faces) != 1 {
			t.Errorf("%s: %d faces", r.Image, len(r.Faces))
		}
	}
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if count[p] != 1 {
			t.Errorf("%s: %d lines, want 1", p, count[p])
		}
	}
	if len(count) != len(names) {
		t.Errorf("%d images in the journal, want %d", len(count), len(names))
	}
	if !bytes.HasPrefix(got, cut) {
		t.Error("resuming rewrote the lines of the killed run")
	}
}

// TestDetectTreeFaceFlags runs detect over a folder with the face flags:
// each JSON face carries its record (rotation, pose, quality), the crops
// mirror the tree under -crops, and -largest keeps one face per image.
func TestDetectTreeFaceFlags(t *testing.T) {
	dir := photoTree(t, "2024/a.png", "b.png")
	crops := filepath.Join(t.TempDir(), "crops")
	stdout, stderr, code := runCLI("detect", "-json", "-quiet", "-largest", "-crops", crops, dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), stdout)
	}
	for _, l := range lines {
		var r struct {
			Faces []map[string]json.RawMessage `json:"faces"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Faces) != 1 {
			t.Fatalf("%d faces, want 1: %s", len(r.Faces), l)
		}
		for _, k := range []string{"box", "score", "landmarks", "rotation", "pose", "quality"} {
			if _, ok := r.Faces[0][k]; !ok {
				t.Errorf("face lacks %q: %s", k, l)
			}
		}
	}
	for _, p := range []string{"2024/a_0.png", "b_0.png"} {
		if _, err := os.Stat(filepath.Join(crops, filepath.FromSlash(p))); err != nil {
			t.Error(err)
		}
	}
	// Again: the crops exist, so every image fails and nothing is overwritten.
	_, stderr, code = runCLI("detect", "-json", "-quiet", "-crops", crops, dir)
	if code != 1 || !strings.Contains(stderr, "a_0.png") {
		t.Errorf("second run: exit %d, stderr %q; want 1 naming the existing crop", code, stderr)
	}
}
