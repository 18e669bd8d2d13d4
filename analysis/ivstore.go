package analysis

import (
	"encoding/binary"
	"io"
	"os"
	"runtime"
)

// intervalStore holds a run's encoded interval histograms (Summary.Intervals)
// until the run ends. One is added every second and they are read back only
// at the end, or when coarsened, so they wait in an unlinked temporary file:
// at 5,000 req/s an interval is about 2 KB, and kept in memory they grew the
// heap by 1.2 MB in ten minutes (RSS, with the GC's headroom, by 3 MB: +12 %
// between minutes 1 and 10 of bench/soak). Where no temporary file can be
// made they stay in memory.
type intervalStore struct {
	f   *os.File // nil: in memory
	mem []string
	n   int
	buf []byte
}

func (s *intervalStore) len() int { return s.n }

func (s *intervalStore) add(enc string) {
	s.n++
	if s.f == nil && len(s.mem) == 0 {
		s.open()
	}
	if s.f != nil {
		s.buf = binary.BigEndian.AppendUint32(s.buf[:0], uint32(len(enc)))
		s.buf = append(s.buf, enc...)
		if _, err := s.f.Write(s.buf); err == nil {
			return
		}
		// The disk failed us: keep what was written, in memory, from now on.
		all := s.readAll(s.n - 1)
		s.drop()
		s.mem = append(all, enc)
		return
	}
	s.mem = append(s.mem, enc)
}

// open makes the temporary file, unlinked at once: it goes away with the
// process, or when the store is garbage.
func (s *intervalStore) open() {
	f, err := os.CreateTemp("", "tailgate-intervals-")
	if err != nil {
		return
	}
	if os.Remove(f.Name()) != nil {
		// Not unlinkable while open (not Unix): keep it in memory instead.
		f.Close()
		os.Remove(f.Name())
		return
	}
	s.f = f
	runtime.AddCleanup(s, func(f *os.File) { f.Close() }, f)
}

func (s *intervalStore) drop() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// all returns every interval, in order.
func (s *intervalStore) all() []string {
	if s.f == nil {
		return append([]string(nil), s.mem...)
	}
	return s.readAll(s.n)
}

// readAll reads the first n intervals from the file; fewer if it fails.
func (s *intervalStore) readAll(n int) []string {
	out := make([]string, 0, n)
	r := io.NewSectionReader(s.f, 0, 1<<62)
	var hd [4]byte
	for len(out) < n {
		if _, err := io.ReadFull(r, hd[:]); err != nil {
			break
		}
		b := make([]byte, binary.BigEndian.Uint32(hd[:]))
		if _, err := io.ReadFull(r, b); err != nil {
			break
		}
		out = append(out, string(b))
	}
	return out
}

// replace makes encs the store's content.
func (s *intervalStore) replace(encs []string) {
	s.n = 0
	s.mem = s.mem[:0]
	if s.f != nil {
		if s.f.Truncate(0) != nil {
			s.drop()
		} else if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			s.drop()
		}
	}
	for _, e := range encs {
		s.add(e)
	}
}
