package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhirapi"
	"omnichart/internal/ingest"
	"omnichart/internal/ingest/mllp"
	"omnichart/internal/service"
)

// importLimitFlags registers the limits of the import pipeline on fs (serve and
// import share them) and returns a function that reads them once fs is parsed.
func importLimitFlags(fs *flag.FlagSet) func() ingest.Limits {
	maxDecompressed := fs.Int64("max-decompressed-bytes", ingest.DefaultMaxDecompressedBytes, "largest content of one imported file, after bzip2 decompression; reading stops as soon as it is passed")
	maxDocument := fs.Int64("max-document-bytes", ingest.DefaultMaxDocumentBytes, "largest C-CDA document, FHIR Bundle or resource, HL7 v2 message or NDJSON line")
	maxSegments := fs.Int("max-hl7v2-segments", ingest.DefaultMaxHL7v2Segments, "most segments of one HL7 v2 message")
	return func() ingest.Limits {
		return ingest.Limits{MaxDecompressedBytes: *maxDecompressed, MaxDocumentBytes: *maxDocument, MaxHL7v2Segments: *maxSegments}
	}
}

// bundleEntriesFlag registers the most entries of one transaction or batch Bundle
// on fs (serve and import share it).
func bundleEntriesFlag(fs *flag.FlagSet) *int {
	return fs.Int("max-bundle-entries", service.DefaultMaxBundleEntries, "most entries of one transaction or batch Bundle, sent to the API or imported; more are refused whole (413)")
}

// validLimits refuses limits that are not positive: 0 would not mean "no limit".
func validLimits(l ingest.Limits) error {
	switch {
	case l.MaxDecompressedBytes <= 0:
		return fmt.Errorf("--max-decompressed-bytes must be positive")
	case l.MaxDocumentBytes <= 0:
		return fmt.Errorf("--max-document-bytes must be positive")
	case l.MaxHL7v2Segments <= 0:
		return fmt.Errorf("--max-hl7v2-segments must be positive")
	}
	return nil
}

// readImportFile reads the content of f within the limits, without reading a
// file that is over them: a file larger on disk than the decompressed limit is not
// opened, and one that starts as a single document larger than the document limit
// is refused after its first bytes (see ingest.ReadInput); both are TooLarge. A
// bzip2 file that cannot be decompressed is returned as it is with decompressed
// false, for Import to quarantine.
func readImportFile(f importFile, format ingest.Format, lim ingest.Limits) (data []byte, decompressed bool, err error) {
	if f.size > lim.MaxDecompressedBytes {
		return nil, false, ehr.Errorf(ehr.TooLarge, "the file is %d bytes, larger than the limit of %d bytes (max-decompressed-bytes)", f.size, lim.MaxDecompressedBytes)
	}
	file, err := os.Open(f.path)
	if err != nil {
		return nil, false, err
	}
	defer file.Close()
	data, err = ingest.ReadInput(file, f.size, format, lim)
	var pathErr *fs.PathError
	switch {
	case err == nil:
		return data, true, nil
	case ehr.ErrorCode(err) == ehr.TooLarge, errors.As(err, &pathErr):
		return nil, false, err
	}
	// Not decompressable: Import quarantines the bytes as they are.
	data, err = os.ReadFile(f.path)
	return data, false, err
}

// serveLimits are the connection limits of "omnichart serve".
type serveLimits struct {
	http         fhirapi.Connections
	perClient    int
	mllp         mllp.Server // its limits only
	importLimits func() ingest.Limits

	readTimeout     *time.Duration
	writeTimeout    *time.Duration
	idleTimeout     *time.Duration
	maxConnections  *int
	mllpRead        *time.Duration
	mllpIdle        *time.Duration
	mllpMaxFrame    *int
	mllpConnections *int
	maxPerClient    *int
}

// serveLimitFlags registers the connection limits of serve on fs, and the import
// limits its MLLP listener applies.
func serveLimitFlags(fs *flag.FlagSet) *serveLimits {
	return &serveLimits{
		readTimeout:     fs.Duration("read-timeout", fhirapi.DefaultReadTimeout, "longest time to read one request, headers and body; a slower body is answered 408"),
		writeTimeout:    fs.Duration("write-timeout", fhirapi.DefaultWriteTimeout, "longest time from the end of a request's headers to the end of its response"),
		idleTimeout:     fs.Duration("idle-timeout", fhirapi.DefaultIdleTimeout, "close a keep-alive connection idle this long"),
		maxConnections:  fs.Int("max-connections", fhirapi.DefaultMaxConnections, "most HTTP connections open at once (-1: no limit); more are answered 503"),
		maxPerClient:    fs.Int("max-requests-per-client", fhirapi.DefaultMaxRequestsPerClient, "most requests of one client IP address (IPv6: one /64) in progress at once (-1: no limit); more are answered 429"),
		mllpRead:        fs.Duration("mllp-read-timeout", mllp.DefaultReadTimeout, "longest time one MLLP frame may take to arrive once it has started"),
		mllpIdle:        fs.Duration("mllp-idle-timeout", mllp.DefaultIdleTimeout, "close an MLLP connection idle this long between messages"),
		mllpMaxFrame:    fs.Int("mllp-max-frame-bytes", mllp.DefaultMaxMessageBytes, "largest MLLP frame; a larger one is answered AR and discarded"),
		mllpConnections: fs.Int("mllp-max-connections", mllp.DefaultMaxConnections, "most MLLP connections open at once (-1: no limit); more are closed at once"),
		importLimits:    importLimitFlags(fs),
	}
}

// resolve checks the parsed flags and fills the limits.
func (l *serveLimits) resolve() error {
	for name, d := range map[string]time.Duration{"--read-timeout": *l.readTimeout, "--write-timeout": *l.writeTimeout,
		"--idle-timeout": *l.idleTimeout, "--mllp-read-timeout": *l.mllpRead, "--mllp-idle-timeout": *l.mllpIdle} {
		if d <= 0 {
			return fmt.Errorf("%s must be positive", name)
		}
	}
	if *l.writeTimeout < *l.readTimeout {
		return fmt.Errorf("--write-timeout (%v) must not be shorter than --read-timeout (%v): it runs from the end of the headers, body included", *l.writeTimeout, *l.readTimeout)
	}
	for name, n := range map[string]int{"--max-connections": *l.maxConnections, "--max-requests-per-client": *l.maxPerClient,
		"--mllp-max-connections": *l.mllpConnections} {
		if n == 0 || n < -1 {
			return fmt.Errorf("%s must be positive, or -1 for no limit", name)
		}
	}
	if *l.mllpMaxFrame <= 0 {
		return fmt.Errorf("--mllp-max-frame-bytes must be positive")
	}
	l.http = fhirapi.Connections{ReadTimeout: *l.readTimeout, WriteTimeout: *l.writeTimeout, IdleTimeout: *l.idleTimeout, MaxConnections: *l.maxConnections}
	l.perClient = *l.maxPerClient
	l.mllp = mllp.Server{ReadTimeout: *l.mllpRead, IdleTimeout: *l.mllpIdle, MaxMessageBytes: *l.mllpMaxFrame, MaxConnections: *l.mllpConnections}
	return validLimits(l.importLimits())
}
