//go:build !unix

package batch

import "io/fs"

// fileID identifies a file or directory; without device and inode
// numbers nothing is identified, so repeated files are listed again and
// loops are left to the absence of followed symbolic links.
type fileID struct{}

func idOf(fs.FileInfo) (fileID, bool) { return fileID{}, false }
