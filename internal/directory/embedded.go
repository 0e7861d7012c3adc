package directory

import (
	"archive/zip"
	"bytes"
	_ "embed"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// shipped is the snapshot built into the binary (see lantern/README.md).
//
//go:embed lantern/snapshot.zip
var shipped []byte

// ShippedSnapshot is the date of the snapshot built into the binary.
const ShippedSnapshot = "2026-05-01"

// ReadShipped reads the snapshot built into the binary.
func ReadShipped() (*Snapshot, error) {
	zr, err := zip.NewReader(bytes.NewReader(shipped), int64(len(shipped)))
	if err != nil {
		return nil, fmt.Errorf("the shipped snapshot: %w", err)
	}
	return Read(zr)
}

// ReadPath reads a snapshot from a folder, or from a zip of its files.
func ReadPath(path string) (*Snapshot, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return Read(os.DirFS(path))
	}
	if !strings.HasSuffix(strings.ToLower(path), ".zip") {
		return nil, fmt.Errorf("%s: give the snapshot's folder or a .zip of its files", path)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer zr.Close()
	var fsys fs.FS = zr
	return Read(fsys)
}
