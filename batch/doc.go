// Package batch runs a face detector over whole photo collections: it walks
// directory trees into a deterministic list of images (Walk), keeps a share
// of them for one machine among several (Shard), runs them through a
// bounded pipeline that reads and decodes the next images while the cores
// detect the current ones (Run), and keeps a journal of finished images so
// that a cut run can be resumed (Journal).
//
// The package formats nothing: callers get one Result per image, in the
// walk's order, through callbacks, and write JSON lines, CSV, tables or
// annotated images themselves. The CLI's "mtcnn detect" is such a caller.
//
// # Names, order and outputs
//
// Every image has a relative path (Item.Rel): its slash-separated path
// inside the directory argument it was found under, or its base name for a
// file given directly. Images are ordered by argument, then by Rel as byte
// strings; shards partition by a hash of Rel, so machines that mount a
// collection at different places agree; OutputPath mirrors Rel under an
// output directory, so equal file names in different folders never
// collide.
package batch
