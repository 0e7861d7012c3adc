package audit

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"omnichart/internal/ehr"
)

// The spool keeps read records between the request that makes them and their
// durable commit into the chain (see the package documentation, "Durability").
//
// A spool file belongs to one running process, which holds an exclusive flock
// on it; a file nobody holds is what a stopped or killed process left behind,
// and Recover commits it. A file is a sequence of frames:
//
//	length (4 bytes, big-endian) | payload (JSON of the entry) | HMAC-SHA-256(key, "spool" || payload)
//
// written with one write(2) each, so that once Record returns the frame is in
// the kernel's page cache and survives the process. The MAC lets Recover refuse
// a frame changed on disk before it was committed.

const (
	spoolSuffix = ".spool"
	// maxFrame bounds one frame's payload when reading a spool back: far above
	// any record (a search lists at most a page of references).
	maxFrame = 16 << 20
)

// spoolEntry is the payload of a frame: an entry before it is numbered and
// sealed.
type spoolEntry struct {
	Recorded time.Time       `json:"recorded"`
	Agent    string          `json:"agent"`
	Patients []string        `json:"patients,omitempty"`
	Body     json.RawMessage `json:"body"`
}

// segment is one spool file and the entries written to it, in order.
type segment struct {
	file    *os.File
	name    string
	entries []*ehr.AuditEntry
}

// openSegment creates a new spool file in dir and locks it.
func openSegment(dir string) (*segment, error) {
	// Made under another name and locked before it is named a spool, so that
	// no Recover ever takes a living process's file for an orphan.
	name := filepath.Join(dir, fmt.Sprintf("audit-%d-%d%s", time.Now().UnixNano(), os.Getpid(), spoolSuffix))
	f, err := os.OpenFile(name+".new", os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &segment{file: f, name: name}, nil
}

// remove closes the segment's file and deletes it: its entries are committed.
func (s *segment) remove() error {
	s.file.Close()
	return os.Remove(s.name)
}

// frame encodes e as one spool frame sealed with key.
func frame(key []byte, e *ehr.AuditEntry) ([]byte, error) {
	payload, err := json.Marshal(spoolEntry{Recorded: e.Recorded, Agent: e.Agent, Patients: e.Patients, Body: e.Body})
	if err != nil {
		return nil, err
	}
	b := make([]byte, 4, 4+len(payload)+sha256.Size)
	binary.BigEndian.PutUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	return append(b, spoolMAC(key, payload)...), nil
}

func spoolMAC(key, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("spool"))
	h.Write(payload)
	return h.Sum(nil)
}

// readSpool reads the frames of a spool file. A frame cut short at the end (a
// machine crash in the middle of a write) ends the file and is reported as
// torn; a frame whose MAC does not hold is skipped and reported.
func readSpool(key []byte, r io.Reader) (entries []*ehr.AuditEntry, problems []string, err error) {
	br := bufio.NewReader(r)
	for i := 1; ; i++ {
		var n [4]byte
		if _, err := io.ReadFull(br, n[:]); err != nil {
			if err == io.EOF {
				return entries, problems, nil
			}
			if err == io.ErrUnexpectedEOF {
				return entries, append(problems, fmt.Sprintf("frame %d is torn (the file ends inside it)", i)), nil
			}
			return entries, problems, err
		}
		size := binary.BigEndian.Uint32(n[:])
		if size > maxFrame {
			return entries, append(problems, fmt.Sprintf("frame %d claims %d bytes; the rest of the file is unreadable", i, size)), nil
		}
		buf := make([]byte, int(size)+sha256.Size)
		if _, err := io.ReadFull(br, buf); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return entries, append(problems, fmt.Sprintf("frame %d is torn (the file ends inside it)", i)), nil
			}
			return entries, problems, err
		}
		payload, sum := buf[:size], buf[size:]
		if !hmac.Equal(sum, spoolMAC(key, payload)) {
			problems = append(problems, fmt.Sprintf("frame %d does not match its MAC (changed on disk, or written with another key)", i))
			continue
		}
		var se spoolEntry
		if err := json.Unmarshal(payload, &se); err != nil {
			problems = append(problems, fmt.Sprintf("frame %d: %v", i, err))
			continue
		}
		entries = append(entries, &ehr.AuditEntry{Recorded: se.Recorded, Agent: se.Agent, Patients: se.Patients, Body: se.Body})
	}
}

// removeUnheld deletes a spool file still being made when its process
// stopped (nothing is written to a file before it is named): unless a running
// process holds it.
func removeUnheld(name string) {
	f, err := os.Open(name)
	if err != nil {
		return
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		os.Remove(name)
	}
}

// orphanSpools returns the spool files in dir that no running process holds,
// oldest first, each opened and locked (the caller removes or closes them).
func orphanSpools(dir string) ([]*os.File, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var files []*os.File
	for _, de := range des { // ReadDir sorts by name: by creation time.
		if !de.IsDir() && strings.HasSuffix(de.Name(), spoolSuffix+".new") {
			removeUnheld(filepath.Join(dir, de.Name()))
			continue
		}
		if de.IsDir() || !strings.HasSuffix(de.Name(), spoolSuffix) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, de.Name()))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // another process recovered it meanwhile
			}
			return files, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close() // a running process's spool
			continue
		}
		files = append(files, f)
	}
	return files, nil
}

// spoolEntry writes e to the current spool file and schedules its commit.
func (l *Log) spoolEntry(e *ehr.AuditEntry) error {
	fr, err := frame(l.key, e)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	sp := &l.spool
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.waiting >= sp.max {
		return fmt.Errorf("audit: %d records are waiting for their commit into the log; no more are taken until the store accepts them", sp.waiting)
	}
	if sp.cur == nil {
		seg, err := openSegment(sp.dir)
		if err != nil {
			return fmt.Errorf("audit spool: %w", err)
		}
		sp.cur = seg
	}
	if _, err := sp.cur.file.Write(fr); err != nil {
		// The file may end in a part of this frame: nothing more is written
		// to it, and what it holds before is committed as usual.
		if len(sp.cur.entries) > 0 {
			sp.full = append(sp.full, sp.cur)
		} else {
			sp.cur.remove()
		}
		sp.cur = nil
		return fmt.Errorf("audit spool: %w", err)
	}
	sp.cur.entries = append(sp.cur.entries, e)
	sp.waiting++
	l.armMove()
	return nil
}

// armMove schedules a move FlushDelay from now unless one is waiting to start;
// sp.mu is held.
func (l *Log) armMove() {
	sp := &l.spool
	if sp.armed {
		return
	}
	sp.armed = true
	time.AfterFunc(sp.delay, func() {
		if err := l.move(context.Background()); err != nil && sp.onMoveError != nil {
			sp.onMoveError(err)
		}
	})
}

// move commits every spooled record into the chain, oldest file first, each
// file in one durable transaction, and deletes the files committed. A failure
// leaves the rest in the spool and schedules another attempt.
func (l *Log) move(ctx context.Context) error {
	sp := &l.spool
	sp.moving.Lock()
	defer sp.moving.Unlock()
	sp.mu.Lock()
	sp.armed = false
	if sp.cur != nil && len(sp.cur.entries) > 0 {
		sp.full = append(sp.full, sp.cur)
		sp.cur = nil
	}
	segs := sp.full
	sp.mu.Unlock()
	for _, seg := range segs {
		wctx, cancel := context.WithTimeout(ctx, l.timeout)
		err := l.store.AppendAudit(wctx, seg.entries, l.seal)
		cancel()
		if err != nil {
			sp.mu.Lock()
			l.armMove()
			sp.mu.Unlock()
			return fmt.Errorf("audit: committing %d spooled records: %w", len(seg.entries), err)
		}
		rmErr := seg.remove()
		sp.mu.Lock()
		sp.full = sp.full[1:]
		sp.waiting -= len(seg.entries)
		sp.mu.Unlock()
		if rmErr != nil {
			// Committed, but a later Recover would commit it again.
			return fmt.Errorf("audit spool: remove %s: %w", seg.name, rmErr)
		}
	}
	return nil
}

// Sync commits every spooled record now: a no-op without a spool. A server
// calls it when it stops.
func (l *Log) Sync(ctx context.Context) error {
	if l.spool.dir == "" {
		return nil
	}
	return l.move(ctx)
}

// Recover commits the records of the spool files in dir that no running
// process holds (left by a process that stopped before it committed them), in
// the order the files were made, and deletes them. It returns how many records
// it committed and the frames it could not take (torn at a file's end by a
// machine crash, or changed on disk), which are left out and must be reported.
func (l *Log) Recover(ctx context.Context, dir string) (records int, problems []string, err error) {
	files, err := orphanSpools(dir)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	if err != nil {
		return 0, nil, fmt.Errorf("audit spool: %w", err)
	}
	for _, f := range files {
		entries, probs, err := readSpool(l.key, f)
		if err != nil {
			return records, problems, fmt.Errorf("audit spool %s: %w", f.Name(), err)
		}
		for _, p := range probs {
			problems = append(problems, filepath.Base(f.Name())+": "+p)
		}
		if len(entries) > 0 {
			wctx, cancel := context.WithTimeout(ctx, l.timeout)
			err := l.store.AppendAudit(wctx, entries, l.seal)
			cancel()
			if err != nil {
				return records, problems, fmt.Errorf("audit: recovering %s: %w", f.Name(), err)
			}
			records += len(entries)
		}
		if err := os.Remove(f.Name()); err != nil {
			return records, problems, fmt.Errorf("audit spool: %w", err)
		}
	}
	return records, problems, nil
}
