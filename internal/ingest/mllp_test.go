package ingest_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehrtest"
	"omnichart/internal/ingest"
	"omnichart/internal/ingest/ccda"
	"omnichart/internal/ingest/hl7v2"
	"omnichart/internal/ingest/mllp"
)

// msa returns MSA-1 and MSA-2 of an ACK.
func msa(ack []byte) (code, control string) {
	for _, seg := range strings.Split(string(ack), "\r") {
		if strings.HasPrefix(seg, "MSA") {
			f := strings.Split(seg, seg[3:4])
			if len(f) > 2 {
				return f[1], f[2]
			}
		}
	}
	return "", ""
}

func TestMLLPRoundTripAcknowledgesAndDoesNotApplyReDeliveries(t *testing.T) {
	oru := mustRead(t, "hl7v2/testdata/oru_r01_cbc.hl7")
	adt := mustRead(t, "hl7v2/testdata/adt_a01.hl7")
	ctrl := func(b []byte) string {
		m, err := hl7v2.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		return m.ControlID()
	}
	cases := []struct {
		name        string
		msg         []byte
		wantCode    string
		wantControl string
		wantNew     bool
	}{
		{"an ORU^R01 is accepted", oru, "AA", ctrl(oru), true},
		{"an ADT^A01 is accepted", adt, "AA", ctrl(adt), true},
		{"a re-delivered ORU^R01 is accepted again but not applied", oru, "AA", ctrl(oru), false},
		{"the same control id with a new timestamp is a re-delivery", []byte(strings.Replace(string(oru), "|20110531140551-0500|", "|20110531150551-0500|", 1)), "AA", ctrl(oru), false},
		{"the same control id with other content is applied", []byte(strings.Replace(string(oru), "||ORU^R01", "|S1|ORU^R01", 1)), "AA", ctrl(oru), true},
		{"an unsupported message type is rejected", []byte("MSH|^~\\&|A|F|B|G|20240101||ZZZ^Z01|CTRL9|P|2.5.1\rPID|1\r"), "AR", "CTRL9", false},
		{"garbage is rejected", []byte("this is not HL7"), "AR", "", false},
		{"a message missing required segments is an error", []byte("MSH|^~\\&|A|F|B|G|20240101||ORU^R01|CTRL10|P|2.5.1\r"), "AE", "CTRL10", false},
	}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			src := ingest.Source{URI: "urn:omnichart:source:lab"}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			srv := &mllp.Server{MaxMessageBytes: 1 << 20, Handler: mllp.HandlerFunc(func(ctx context.Context, raw []byte) []byte {
				ack, _ := e.im.HandleHL7v2(ctx, src, raw)
				return ack
			})}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx, ln) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Serve = %v after shutdown, want nil", err)
				}
			}()
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			r := bufio.NewReader(conn)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					before := len(e.all(t))
					conn.SetDeadline(time.Now().Add(30 * time.Second))
					if err := hl7v2.WriteFrame(conn, c.msg); err != nil {
						t.Fatal(err)
					}
					ack, err := hl7v2.ReadFrame(r, 1<<20)
					if err != nil {
						t.Fatalf("ReadFrame(ACK) = %v", err)
					}
					code, control := msa(ack)
					if code != c.wantCode || control != c.wantControl {
						t.Errorf("ACK MSA = %s|%s, want %s|%s", code, control, c.wantCode, c.wantControl)
					}
					after := len(e.all(t))
					switch {
					case c.wantNew && after <= before:
						t.Errorf("store holds %d resources after the message, %d before; want more", after, before)
					case !c.wantNew && c.wantCode == "AA" && after != before:
						t.Errorf("store holds %d resources after a re-delivery, %d before; want no change", after, before)
					}
				})
			}
			t.Run("a frame over the size limit is rejected and the connection goes on", func(t *testing.T) {
				big := []byte("MSH|^~\\&|A|F|B|G|20240101||ADT^A01|BIG|P|2.5.1\rNTE|1||" + strings.Repeat("x", 2<<20) + "\r")
				hl7v2.WriteFrame(conn, big)
				ack, err := hl7v2.ReadFrame(r, 1<<20)
				if code, _ := msa(ack); err != nil || code != "AR" {
					t.Errorf("ACK of an oversized frame = %s, %v; want AR", code, err)
				}
				hl7v2.WriteFrame(conn, oru)
				ack, err = hl7v2.ReadFrame(r, 1<<20)
				if code, _ := msa(ack); err != nil || code != "AA" {
					t.Errorf("ACK after an oversized frame = %s, %v; want AA", code, err)
				}
			})
		})
	}
}

// sampleFiles lists the files under dir whose content is of format f.
func sampleFiles(t *testing.T, dir string, f ingest.Format) []string {
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err == nil && ingest.Detect(data, p) == f {
			out = append(out, p)
		}
		return nil
	})
	if len(out) == 0 {
		ehrtest.MissingTestdata(t, fmt.Sprintf("no %s samples under %s", f, dir))
	}
	return out
}

// citusSamples is the part of a sample corpus that a corpus test imports on
// Citus: every write on the local cluster costs several times what it costs on
// one server, and the whole corpus would take the better part of an hour there.
// Every step-th file, in the corpus's order, keeps every source EMR and message
// type of the corpus represented (files are grouped by EMR), and the code under
// test is the same on every PostgreSQL.
func citusSamples[S any](engine string, files []S, want int) []S {
	if engine != "citus" || len(files) <= want {
		return files
	}
	step := (len(files) + want - 1) / want
	var out []S
	for i := 0; i < len(files); i += step {
		out = append(out, files[i])
	}
	return out
}

// TestEveryHL7v2SampleThatConvertsImports imports every HL7 v2 sample file and
// checks each message's outcome against an oracle that does not ask the converter:
// a message of a supported type (read straight from MSH-9) imports, and one of
// another type, or one listed in hl7v2/testdata/samples_not_converted.txt, fails
// with a quarantine entry.
func TestEveryHL7v2SampleThatConvertsImports(t *testing.T) {
	shared := ehrtest.SharedTestdata(t, "hl7v2")
	exceptions := ehrtest.HL7v2Exceptions(t)
	type sample struct {
		path, rel string // rel is "" for this repository's own samples
	}
	var files []sample
	for _, f := range sampleFiles(t, shared, ingest.FormatHL7v2) {
		rel, err := filepath.Rel(shared, f)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, sample{f, rel})
	}
	for _, f := range sampleFiles(t, "hl7v2/testdata", ingest.FormatHL7v2) {
		files = append(files, sample{f, ""})
	}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			// A message imported before (the same content, whatever its MSH-7
			// message time) is a re-delivery: recognised, not applied again. Other
			// content under a facility and control ID used before (many samples
			// share MSG00001; testdefault.hl7 sends one control ID 51 times) is a
			// message of its own: imported, and reported as reusing the id.
			all := len(files)
			files := citusSamples(engine, files, 40)
			e := newEnv(t, engine)
			importedKeys := map[string]bool{}
			importedContent := map[[32]byte]bool{}
			imported, refused, duplicates := 0, 0, 0
			for _, f := range files {
				data := mustRead(t, f.path)
				msgs := hl7v2.SplitMessages(data)
				rep := e.mustImport(t, ingest.Source{URI: "urn:omnichart:source:v2"}, filepath.Base(f.path), data)
				if len(rep.Units) != max(len(msgs), 1) {
					t.Errorf("%s: Import made %d units of %d messages", f.path, len(rep.Units), len(msgs))
					continue
				}
				for i, u := range rep.Units {
					var raw []byte
					if i < len(msgs) {
						raw = msgs[i]
					}
					key, content := ehrtest.HL7v2MessageKey(raw), ehrtest.HL7v2Content(raw)
					wantDup := importedContent[content]
					if u.Duplicate != wantDup {
						t.Errorf("%s: Duplicate = %v, want %v (message key %q)", u.Name, u.Duplicate, wantDup, key)
						continue
					}
					if wantDup {
						duplicates++
						continue
					}
					if u.Err == nil && key != "" && importedKeys[key] && u.Reason != ingest.ReasonReusedKey {
						t.Errorf("%s: imported under the used key %q with reason %q, want %q", u.Name, key, u.Reason, ingest.ReasonReusedKey)
					}
					want, why := ehrtest.HL7v2Expected(nil, "", 0, raw)
					if f.rel != "" {
						want, why = ehrtest.HL7v2Expected(exceptions, f.rel, i+1, raw)
					}
					if u.Err == nil {
						importedContent[content] = true
						if key != "" {
							importedKeys[key] = true
						}
					}
					switch {
					case want == ehrtest.HL7v2Converts && u.Err != nil:
						t.Errorf("%s: Import failed (%s; %v), want it imported: %s", u.Name, ingest.ErrorText(u.Err), u.Issues, why)
					case want != ehrtest.HL7v2Converts && u.Err == nil:
						t.Errorf("%s: imported, want it refused (%s): %s", u.Name, want, why)
					case u.Err != nil && u.Quarantine == "":
						t.Errorf("%s: failed without a quarantine entry", u.Name)
					case u.Err == nil:
						imported++
					default:
						refused++
					}
				}
			}
			t.Logf("%d HL7 v2 messages imported, %d refused and %d recognised as re-deliveries from %d files", imported, refused, duplicates, len(files))
			// The shared samples hold 233 messages of supported types and this
			// repository's own samples 5 more: far fewer means samples went
			// missing or stopped importing.
			want := 220
			if len(files) < all {
				// A part of the corpus (citusSamples) holds at least half its share.
				want = 220 * len(files) / all / 2
			}
			if imported < want {
				t.Errorf("%d HL7 v2 messages imported from %d of %d files, want at least %d", imported, len(files), all, want)
			}
		})
	}
}

func TestEveryCCDASampleThatConvertsImports(t *testing.T) {
	files := sampleFiles(t, filepath.Join(testdata, "ccda"), ingest.FormatCCDA)
	engines := ehrtest.AllEngines
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			list := citusSamples(engine, files, 40)
			if engine != "sqlite" && len(list) > 40 && testing.Short() {
				list = list[:40]
			}
			e := newEnv(t, engine)
			imported, failed := 0, 0
			for _, f := range list {
				data := mustRead(t, f)
				_, cerr := ccda.Convert(data, ccda.Options{})
				rep := e.mustImport(t, ingest.Source{URI: "urn:omnichart:source:cda"}, filepath.Base(f), data)
				u := rep.Units[0]
				switch {
				case cerr == nil && u.Err != nil:
					failed++
					if failed <= 10 {
						t.Errorf("%s: converts but Import failed: %v", f, ingest.ErrorText(u.Err))
					}
				case u.Err != nil && u.Quarantine == "":
					t.Errorf("%s: failed without a quarantine entry", f)
				case u.Err == nil:
					imported++
				}
			}
			if failed > 10 {
				t.Errorf("%d C-CDA documents convert but fail to import", failed)
			}
			t.Logf("%d of %d C-CDA documents imported", imported, len(list))
		})
	}
}
