package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Item is one file to process.
type Item struct {
	// Path is the file to read: the argument it came from joined with its
	// path inside that argument (the argument itself for a file argument).
	Path string
	// Rel is the slash-separated path relative to the directory argument,
	// or the base name for a file argument. It orders the items, selects
	// their shard and names their outputs (see OutputPath).
	Rel string
	// Arg is the index of the argument the item came from.
	Arg int
	// Walked is true for a file found inside a directory argument, false
	// for a file named directly.
	Walked bool
}

// ErrNotRegular reports a path argument that is neither a regular file nor
// a directory (a device, a FIFO, a socket): reading it could block forever.
var ErrNotRegular = errors.New("batch: not a regular file or directory")

// ErrLoop reports a directory reached a second time inside one walk (a bind
// mount of an ancestor, or the same tree given twice); it is walked once.
var ErrLoop = errors.New("batch: directory already walked (loop or repeated argument)")

// Walk expands paths into items. A file is taken as it is; a directory is
// walked recursively with these rules: entries whose name starts with "."
// are skipped (hidden files and folders), symbolic links are not followed
// (neither to files nor to directories), only regular files are listed
// (whatever their extension: the content decides later whether a file is
// an image), and a directory reached twice (a bind-mount loop, or an
// argument inside another) is walked once, and a file reached twice by
// walks (a hard link, overlapping arguments) is listed once. Files named
// directly are listed as given, repeats included.
//
// An argument that does not exist (or cannot be stat'ed) is listed as a
// file item, so that reading it fails in its turn. Inside walks, a path
// that cannot be read (an unreadable folder, one that vanished during the
// walk, a loop) is passed to report with its error and skipped; the walk
// goes on. report may be nil. Walk returns the items sorted by argument
// and then by Rel, and an error only when ctx is done.
func Walk(ctx context.Context, paths []string, report func(path string, err error)) ([]Item, error) {
	if report == nil {
		report = func(string, error) {}
	}
	w := walker{ctx: ctx, report: report, dirs: map[fileID]string{}, files: map[fileID]bool{}}
	var items []Item
	for i, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fi, err := os.Stat(p)
		if err != nil {
			// Kept as an item: reading it fails in its turn, so errors
			// come in the order of the arguments.
			items = append(items, Item{Path: p, Rel: filepath.Base(p), Arg: i})
			continue
		}
		switch {
		case fi.IsDir():
			start := len(items)
			items = w.dir(items, i, p, "", fi)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			slices.SortFunc(items[start:], func(a, b Item) int { return cmp.Compare(a.Rel, b.Rel) })
		case fi.Mode().IsRegular():
			// Named files are taken as asked, repeats included.
			items = append(items, Item{Path: p, Rel: filepath.Base(p), Arg: i})
		default:
			report(p, fmt.Errorf("%w (%v)", ErrNotRegular, fi.Mode().Type()))
		}
	}
	return items, nil
}

type walker struct {
	ctx    context.Context
	report func(string, error)
	dirs   map[fileID]string
	files  map[fileID]bool
}

// seen records a file and tells whether it was listed before.
func (w *walker) seen(fi fs.FileInfo) bool {
	id, ok := idOf(fi)
	if !ok {
		return false
	}
	if w.files[id] {
		return true
	}
	w.files[id] = true
	return false
}

// dir appends the regular files under directory p (relative path rel
// inside argument arg) to items.
func (w *walker) dir(items []Item, arg int, p, rel string, fi fs.FileInfo) []Item {
	if w.ctx.Err() != nil {
		return items
	}
	if id, ok := idOf(fi); ok {
		if first, dup := w.dirs[id]; dup {
			w.report(p, fmt.Errorf("%w: same directory as %s", ErrLoop, first))
			return items
		}
		w.dirs[id] = p
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		w.report(p, err)
		// ReadDir returns what it read before the error.
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		full := filepath.Join(p, name)
		r := path.Join(rel, name)
		switch t := e.Type(); {
		case t&fs.ModeSymlink != 0:
			continue // not followed
		case t.IsDir():
			info, err := e.Info()
			if err != nil {
				w.report(full, err) // vanished since ReadDir
				continue
			}
			items = w.dir(items, arg, full, r, info)
		case t.IsRegular():
			info, err := e.Info()
			if err != nil {
				w.report(full, err)
				continue
			}
			if w.seen(info) {
				continue
			}
			items = append(items, Item{Path: full, Rel: r, Arg: arg, Walked: true})
		}
	}
	return items
}
