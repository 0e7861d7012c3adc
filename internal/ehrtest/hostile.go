package ehrtest

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// bombStream is how many zero bytes one bzip2 stream of a bomb expands to: with
// bzip2's run-length stage, 45 MB of zeros fit in one 900 kB block.
const bombStream = 45_000_000

// MustBzip2Bomb returns a bzip2 file of a few kilobytes that expands to at least n
// bytes of zeros: one stream compressed by the bzip2 program, repeated (bzip2
// streams concatenate). The test is skipped, saying how to run it, when the
// bzip2 program is missing.
func MustBzip2Bomb(tb testing.TB, n int64) []byte {
	tb.Helper()
	path, err := exec.LookPath("bzip2")
	if err != nil {
		tb.Skip("the bzip2 program is not installed (apt-get install bzip2); it makes the bomb this test reads")
	}
	cmd := exec.Command(path, "-9", "-c")
	cmd.Stdin = io.LimitReader(zeros{}, bombStream)
	stream, err := cmd.Output()
	if err != nil {
		tb.Fatalf("bzip2: %v", err)
	}
	copies := int((n + bombStream - 1) / bombStream)
	return bytes.Repeat(stream, copies)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// ccdaHead and ccdaTail frame a C-CDA document whose body is a run of sections.
const (
	ccdaHead = `<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
<realmCode code="US"/>
<typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
<templateId root="2.16.840.1.113883.10.20.22.1.2"/>
<id root="2.16.840.1.113883.19.5" extension="hostile-1"/>
<code code="34133-9" codeSystem="2.16.840.1.113883.6.1"/>
<title>Synthetic summary</title>
<effectiveTime value="20240101"/>
<recordTarget><patientRole><id root="2.16.840.1.113883.19.5" extension="998991"/>
<patient><name><given>Test</given><family>Patient</family></name>
<administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/><birthTime value="19700101"/></patient>
</patientRole></recordTarget>
<component><structuredBody>
`
	ccdaSection = `<component><section><code code="10164-2" codeSystem="2.16.840.1.113883.6.1"/><title>Notes</title>` +
		`<text><paragraph>Synthetic text that repeats to make a large document.</paragraph></text></section></component>
`
	ccdaTail = "</structuredBody></component>\n</ClinicalDocument>\n"
)

// LargeCCDA returns a reader of a synthetic C-CDA document of at least n bytes
// and its exact length. Its content is made as it is read, so a test can offer a
// huge document without holding it.
func LargeCCDA(n int64) (io.Reader, int64) {
	body := n - int64(len(ccdaHead)+len(ccdaTail))
	sections := max(body/int64(len(ccdaSection))+1, 1)
	size := int64(len(ccdaHead)+len(ccdaTail)) + sections*int64(len(ccdaSection))
	r := io.MultiReader(strings.NewReader(ccdaHead), &repeat{s: ccdaSection, n: sections}, strings.NewReader(ccdaTail))
	return r, size
}

// repeat reads s n times.
type repeat struct {
	s   string
	n   int64
	off int
}

func (r *repeat) Read(p []byte) (int, error) {
	total := 0
	for len(p) > 0 && r.n > 0 {
		c := copy(p, r.s[r.off:])
		p, total, r.off = p[c:], total+c, r.off+c
		if r.off == len(r.s) {
			r.off = 0
			r.n--
		}
	}
	if total == 0 && r.n == 0 {
		return 0, io.EOF
	}
	return total, nil
}

// HL7v2Message returns a synthetic ORU^R01 message of the given number of
// segments (MSH, PID, OBR and OBX segments), separated by CR.
func HL7v2Message(segments int) []byte {
	var b bytes.Buffer
	b.WriteString("MSH|^~\\&|LAB|FAC|EHR|FAC|20240101120000||ORU^R01^ORU_R01|HOSTILE-1|P|2.5.1\r")
	b.WriteString("PID|1||998991^^^FAC^MR||Patient^Test||19700101|F\r")
	b.WriteString("OBR|1|ORD1|FIL1|57021-8^CBC panel^LN|||20240101120000\r")
	for i := 1; i <= segments-3; i++ {
		fmt.Fprintf(&b, "OBX|%d|NM|718-7^Hemoglobin^LN||%d.5|g/dL^grams per deciliter^UCUM|12 to 16|N|||F\r", i, 10+i%5)
	}
	return b.Bytes()
}

// UnstructuredCCDA returns a synthetic C-CDA document of about n bytes whose body
// is one embedded document (nonXMLBody, base64 in lines of 76 characters): the
// largest kind of document that is accepted, and the one that costs the most
// memory per byte to import.
func UnstructuredCCDA(n int) []byte {
	head := strings.Replace(ccdaHead, "<component><structuredBody>\n", "", 1)
	open := `<component><nonXMLBody><text mediaType="application/pdf" representation="B64">` + "\n"
	closing := "</text></nonXMLBody></component>\n</ClinicalDocument>\n"
	var b bytes.Buffer
	b.Grow(n + 128)
	b.WriteString(head)
	b.WriteString(open)
	line := strings.Repeat("QUJD", 19) + "\n"
	for b.Len()+len(line)+len(closing) <= n {
		b.WriteString(line)
	}
	b.WriteString(closing)
	return b.Bytes()
}

// ObservationBundle returns a FHIR transaction Bundle of one Patient and n
// laboratory Observations of it, each with its own fullUrl, as an EMR's export of a
// long lab history would send it.
func ObservationBundle(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:6f1c8a52-0000-4000-8000-000000000000",` +
		`"resource":{"resourceType":"Patient","name":[{"family":"Longhistory","given":["Ada"]}],"birthDate":"1950-03-04"},"request":{"method":"POST","url":"Patient"}}`)
	for i := range n {
		fmt.Fprintf(&b, `,{"fullUrl":"urn:uuid:6f1c8a52-0001-4000-8000-%012d","resource":{"resourceType":"Observation","status":"final",`+
			`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],`+
			`"code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"Hemoglobin A1c/Hemoglobin.total in Blood"}]},`+
			`"subject":{"reference":"urn:uuid:6f1c8a52-0000-4000-8000-000000000000"},"effectiveDateTime":"20%02d-%02d-%02dT08:30:00Z",`+
			`"valueQuantity":{"value":%d.%d,"unit":"%%","system":"http://unitsofmeasure.org","code":"%%"}},"request":{"method":"POST","url":"Observation"}}`,
			i, i%25, 1+i%12, 1+i%28, 5+i%4, i%10)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}
