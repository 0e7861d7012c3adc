package demo

import (
	"embed"
	"io/fs"
	"path"
	"sort"
)

// shipped holds the hand-written files of the data set, one folder per source
// slug. Every name, number, address and date in them is made up.
//
//go:embed shipped
var shipped embed.FS

// ShippedFile is one hand-written original of the data set.
type ShippedFile struct {
	// Source is the slug of the source that sends it.
	Source string
	// Name is the file name, e.g. "okafor-adt-a04.hl7".
	Name string
	Data []byte
}

// Shipped returns the hand-written originals, by source and then name.
func Shipped() ([]ShippedFile, error) {
	var out []ShippedFile
	err := fs.WalkDir(shipped, "shipped", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := shipped.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, ShippedFile{Source: path.Base(path.Dir(p)), Name: path.Base(p), Data: data})
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Source != out[j].Source {
			return out[i].Source < out[j].Source
		}
		return out[i].Name < out[j].Name
	})
	return out, err
}
