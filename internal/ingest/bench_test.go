package ingest_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"omnichart/internal/ehrtest"
	"omnichart/internal/ingest"
)

// BenchmarkImportCCDA measures C-CDA documents per second through the whole
// pipeline (detect, convert, one transaction with original and provenance).
func BenchmarkImportCCDA(b *testing.B) {
	doc := mustRead(b, filepath.Join(testdata, "ccda/chb-sample_ccdas/HL7 Samples/CCD.sample.xml"))
	for _, engine := range ehrtest.Engines {
		b.Run(engine, func(b *testing.B) {
			e := newEnv(b, engine)
			n := 0
			for b.Loop() {
				n++
				// A new document each time: a comment keeps the hash unique.
				data := append([]byte(fmt.Sprintf("<!-- %d -->\n", n)), doc...)
				rep, err := e.im.Import(e.ctx, ingest.Source{URI: "urn:omnichart:source:bench"}, ingest.Input{Data: data, Format: ingest.FormatCCDA})
				if err != nil || rep.Failed() > 0 {
					b.Fatalf("Import = %v, %v", err, rep.Units[0].Err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}

// BenchmarkImportHL7v2 measures HL7 v2 ORU^R01 messages per second through the
// pipeline, each with a new control ID.
func BenchmarkImportHL7v2(b *testing.B) {
	msg := string(mustRead(b, "hl7v2/testdata/oru_r01_cbc.hl7"))
	for _, engine := range ehrtest.Engines {
		b.Run(engine, func(b *testing.B) {
			e := newEnv(b, engine)
			n := 0
			for b.Loop() {
				n++
				m := strings.Replace(msg, "|NIST-LRI-NG-002.00|", fmt.Sprintf("|BENCH-%d|", n), 1)
				ack, u := e.im.HandleHL7v2(e.ctx, ingest.Source{URI: "urn:omnichart:source:bench"}, []byte(m))
				if u.Err != nil || u.Duplicate {
					b.Fatalf("HandleHL7v2 = %v, duplicate %v: %q", u.Err, u.Duplicate, ack)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
