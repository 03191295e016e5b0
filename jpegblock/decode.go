package jpegblock

import (
	"encoding/binary"
	"fmt"
)

// maxBlocksPerMCU is the baseline limit on blocks in one MCU.
const maxBlocksPerMCU = 10

func parseFrame(seg []byte, maxPixels, dataLen int) (*Image, error) {
	if len(seg) < 6 {
		return nil, corrupt("frame header too short")
	}
	if seg[0] != 8 {
		return nil, unsupported("%d-bit samples", seg[0])
	}
	h := int(binary.BigEndian.Uint16(seg[1:]))
	w := int(binary.BigEndian.Uint16(seg[3:]))
	nf := int(seg[5])
	if len(seg) != 6+3*nf {
		return nil, corrupt("frame header length %d for %d components", len(seg), nf)
	}
	if h == 0 {
		return nil, unsupported("height defined by a DNL marker")
	}
	if w == 0 {
		return nil, corrupt("zero width")
	}
	if nf != 1 && nf != 3 {
		return nil, unsupported("%d components (only grey and YCbCr)", nf)
	}
	if int64(w)*int64(h) > int64(maxPixels) {
		return nil, fmt.Errorf("%w: %dx%d is over %d pixels", ErrTooLarge, w, h, maxPixels)
	}
	m := &Image{Width: w, Height: h, Components: make([]Component, nf), Hmax: 1, Vmax: 1}
	for i := range m.Components {
		c := &m.Components[i]
		c.ID = seg[6+3*i]
		c.H, c.V = int(seg[7+3*i]>>4), int(seg[7+3*i]&15)
		c.Tq = int(seg[8+3*i])
		if c.H < 1 || c.H > 4 || c.V < 1 || c.V > 4 {
			return nil, corrupt("component %d sampling factors %dx%d", i, c.H, c.V)
		}
		if c.Tq > 3 {
			return nil, corrupt("component %d quantisation table %d", i, c.Tq)
		}
		for j := 0; j < i; j++ {
			if m.Components[j].ID == c.ID {
				return nil, corrupt("duplicate component id %d", c.ID)
			}
		}
		if nf == 1 {
			// A single component is non-interleaved: one block per MCU
			// whatever its factors say (as image/jpeg reads it).
			c.H, c.V = 1, 1
		}
		m.Hmax, m.Vmax = max(m.Hmax, c.H), max(m.Vmax, c.V)
	}
	blocksPerMCU := 0
	for i := range m.Components {
		c := &m.Components[i]
		if m.Hmax%c.H != 0 || m.Vmax%c.V != 0 {
			return nil, unsupported("sampling factors %dx%d not dividing %dx%d", c.H, c.V, m.Hmax, m.Vmax)
		}
		blocksPerMCU += c.H * c.V
	}
	if blocksPerMCU > maxBlocksPerMCU {
		return nil, corrupt("%d blocks per MCU (at most %d)", blocksPerMCU, maxBlocksPerMCU)
	}
	m.MCUsX = (w + 8*m.Hmax - 1) / (8 * m.Hmax)
	m.MCUsY = (h + 8*m.Vmax - 1) / (8 * m.Vmax)
	total := int64(m.MCUsX) * int64(m.MCUsY) * int64(blocksPerMCU)
	// Every coded block takes at least two bits, and a frame stores at
	// most a few uncoded padding blocks per coded one: refuse frames the
	// data cannot fill before allocating their blocks.
	if total > 16*int64(dataLen)+4096 {
		return nil, corrupt("%dx%d frame needs more data than the %d bytes given", w, h, dataLen)
	}
	for i := range m.Components {
		c := &m.Components[i]
		c.BlocksX, c.BlocksY = m.MCUsX*c.H, m.MCUsY*c.V
		c.Coef = make([]int16, c.BlocksX*c.BlocksY*64)
	}
	return m, nil
}

func parseDHT(seg []byte, dc, ac *[4]*huffDec) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return corrupt("DHT segment too short")
		}
		tc, th := seg[0]>>4, seg[0]&15
		if tc > 1 || th > 3 {
			return corrupt("DHT class %d index %d", tc, th)
		}
		s := &huffSpec{}
		total := 0
		for i := range 16 {
			s.counts[i] = seg[1+i]
			total += int(seg[1+i])
		}
		if total == 0 || total > 256 || len(seg) < 17+total {
			return corrupt("DHT with %d symbols", total)
		}
		s.syms = append([]byte(nil), seg[17:17+total]...)
		seg = seg[17+total:]
		h, err := newHuffDec(s)
		if err != nil {
			return err
		}
		if tc == 0 {
			dc[th] = h
		} else {
			ac[th] = h
		}
	}
	return nil
}

// unzig maps zig-zag index to natural (row-major) index.
var unzig = [64]int{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

func parseDQT(seg []byte, q *[4]*[64]uint16) error {
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, seg[0]&15
		if tq > 3 {
			return corrupt("DQT index %d", tq)
		}
		if pq != 0 {
			return unsupported("16-bit quantisation table")
		}
		if len(seg) < 65 {
			return corrupt("DQT segment too short")
		}
		t := new([64]uint16)
		for i := range 64 {
			t[i] = uint16(seg[1+i])
			if t[i] == 0 {
				return corrupt("zero in quantisation table %d", tq)
			}
		}
		q[tq] = t
		seg = seg[65:]
	}
	return nil
}

// bitReader reads entropy-coded bits, removing stuffed zero bytes and
// stopping at the first marker.
type bitReader struct {
	data   []byte
	pos    int
	acc    uint64
	n      uint
	marker bool
}

func (b *bitReader) fill() {
	for b.n <= 56 && !b.marker {
		if b.pos >= len(b.data) {
			b.marker = true
			return
		}
		c := b.data[b.pos]
		if c == 0xFF {
			if b.pos+1 < len(b.data) && b.data[b.pos+1] == 0 {
				b.pos += 2
			} else {
				b.marker = true
				return
			}
		} else {
			b.pos++
		}
		b.acc = b.acc<<8 | uint64(c)
		b.n += 8
	}
}

var errTruncated = corrupt("entropy-coded data ends early")

func (b *bitReader) bits(s uint) (int32, error) {
	if b.n < s {
		b.fill()
		if b.n < s {
			return 0, errTruncated
		}
	}
	b.n -= s
	return int32(b.acc>>b.n) & (1<<s - 1), nil
}

func (b *bitReader) decode(h *huffDec) (byte, error) {
	if b.n < lutBits {
		b.fill()
	}
	if b.n >= lutBits {
		if e := h.lut[(b.acc>>(b.n-lutBits))&(1<<lutBits-1)]; e != 0 {
			b.n -= uint(e >> 8)
			return byte(e), nil
		}
	}
	code := int32(0)
	for l := 1; l <= 16; l++ {
		bit, err := b.bits(1)
		if err != nil {
			return 0, err
		}
		code = code<<1 | bit
		if code <= h.maxcode[l] {
			return h.spec.syms[h.valptr[l]+code-h.mincode[l]], nil
		}
	}
	return 0, corrupt("bad Huffman code")
}

func extend(v int32, s uint) int32 {
	if s > 0 && v < 1<<(s-1) {
		return v - (1 << s) + 1
	}
	return v
}

// restart discards the bits left before a restart marker and reads it.
func (b *bitReader) restart() error {
	b.n, b.acc, b.marker = 0, 0, false
	for b.pos+1 < len(b.data) {
		if b.data[b.pos] != 0xFF {
			b.pos++
			continue
		}
		c := b.data[b.pos+1]
		switch {
		case c >= 0xD0 && c <= 0xD7:
			b.pos += 2
			return nil
		case c == 0 || c == 0xFF:
			b.pos++
		default:
			return corrupt("missing restart marker")
		}
	}
	return errTruncated
}

type scanComp struct {
	c      *Component
	dc, ac *huffDec
	pred   int32
}

// decodeScan decodes the scan whose header is seg and whose data starts
// at data[pos]; it returns the offset of the marker after the data.
func (m *Image) decodeScan(data []byte, pos int, seg []byte, dcs, acs *[4]*huffDec, ri int) (int, error) {
	if len(seg) < 1 {
		return 0, corrupt("scan header too short")
	}
	ns := int(seg[0])
	if ns < 1 || ns > len(m.Components) || len(seg) != 4+2*ns {
		return 0, corrupt("scan header with %d components, length %d", ns, len(seg))
	}
	if seg[1+2*ns] != 0 || seg[2+2*ns] != 63 || seg[3+2*ns] != 0 {
		return 0, corrupt("sequential scan with spectral selection %d-%d, approximation %#x", seg[1+2*ns], seg[2+2*ns], seg[3+2*ns])
	}
	sc := make([]scanComp, ns)
	blocks := 0
	for i := range sc {
		id, t := seg[1+2*i], seg[2+2*i]
		for j := range m.Components {
			if m.Components[j].ID == id {
				sc[i].c = &m.Components[j]
			}
		}
		if sc[i].c == nil {
			return 0, corrupt("scan names unknown component %d", id)
		}
		for j := range i {
			if sc[j].c == sc[i].c {
				return 0, corrupt("scan names component %d twice", id)
			}
		}
		td, ta := t>>4, t&15
		if td > 3 || ta > 3 || dcs[td] == nil || acs[ta] == nil {
			return 0, corrupt("scan uses undefined Huffman tables %d/%d", td, ta)
		}
		sc[i].dc, sc[i].ac = dcs[td], acs[ta]
		sc[i].c.dc, sc[i].c.ac = dcs[td].spec, acs[ta].spec
		blocks += sc[i].c.H * sc[i].c.V
	}
	br := &bitReader{data: data, pos: pos}
	if err := m.walkScan(br, sc, ri, nil, br.block); err != nil {
		return 0, err
	}
	return nextMarker(data, br.pos)
}

// nextMarker returns the offset of the first marker from data[p] on
// that is not a restart: the end of a scan's data.
func nextMarker(data []byte, p int) (int, error) {
	for p+1 < len(data) {
		if data[p] == 0xFF && data[p+1] != 0 && data[p+1] != 0xFF && (data[p+1] < 0xD0 || data[p+1] > 0xD7) {
			return p, nil
		}
		p++
	}
	return 0, corrupt("no marker after scan data")
}

// dc reads a DC difference and adds it to the component's predictor,
// which must stay a 16-bit value.
func (b *bitReader) dc(s *scanComp) error {
	t, err := b.decode(s.dc)
	if err != nil {
		return err
	}
	if t > 15 {
		return corrupt("DC category %d", t)
	}
	v, err := b.bits(uint(t))
	if err != nil {
		return err
	}
	s.pred += extend(v, uint(t))
	if s.pred < -32768 || s.pred > 32767 {
		return corrupt("DC coefficient %d out of range", s.pred)
	}
	return nil
}

// walkScan reads a scan's data units in order: the MCUs of an
// interleaved scan, a single component's blocks in raster order
// otherwise, calling block for each block of each component. At each
// restart marker the predictors are reset, and reset (if not nil) is
// called for the scan's other state.
func (m *Image) walkScan(br *bitReader, sc []scanComp, ri int, reset func(), block func(s *scanComp, blk []int16) error) error {
	var units, perRow int
	if len(sc) == 1 {
		c := sc[0].c
		perRow = ((m.Width*c.H+m.Hmax-1)/m.Hmax + 7) / 8
		units = perRow * (((m.Height*c.V+m.Vmax-1)/m.Vmax + 7) / 8)
	} else {
		perRow = m.MCUsX
		units = m.MCUsX * m.MCUsY
	}
	for u := range units {
		if ri > 0 && u > 0 && u%ri == 0 {
			if err := br.restart(); err != nil {
				return err
			}
			for i := range sc {
				sc[i].pred = 0
			}
			if reset != nil {
				reset()
			}
		}
		ux, uy := u%perRow, u/perRow
		for i := range sc {
			s := &sc[i]
			if len(sc) == 1 {
				if err := block(s, s.c.Block(ux, uy)); err != nil {
					return err
				}
				continue
			}
			for v := range s.c.V {
				for h := range s.c.H {
					if err := block(s, s.c.Block(ux*s.c.H+h, uy*s.c.V+v)); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func (b *bitReader) block(s *scanComp, blk []int16) error {
	if err := b.dc(s); err != nil {
		return err
	}
	blk[0] = int16(s.pred)
	for k := 1; k < 64; k++ {
		rs, err := b.decode(s.ac)
		if err != nil {
			return err
		}
		r, sz := int(rs>>4), uint(rs&15)
		if sz == 0 {
			if r != 15 {
				break // EOB
			}
			k += 15
			continue
		}
		k += r
		if k > 63 {
			return corrupt("AC run past the end of a block")
		}
		v, err := b.bits(sz)
		if err != nil {
			return err
		}
		blk[k] = int16(extend(v, sz))
	}
	return nil
}
