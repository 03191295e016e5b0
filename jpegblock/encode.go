package jpegblock

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// Tables selects the Huffman tables Encode writes.
type Tables int

const (
	// TablesOptimal (the zero value) builds optimal tables for the
	// coefficients being written (ITU T.81 Annex K.2): the smallest file.
	TablesOptimal Tables = iota
	// TablesKeep reuses the tables the input was coded with, so that an
	// unchanged single-scan file gets the same entropy-coded data back;
	// when they cannot code every symbol, optimal tables are used.
	TablesKeep
	// TablesStandard writes the typical tables of Annex K.3 (as
	// image/jpeg does); optimal ones when they cannot code every symbol.
	TablesStandard
)

// stdSpec are the Annex K.3 tables: luminance DC, AC, chrominance DC, AC.
var stdSpec = [4]*huffSpec{
	// Luminance DC.
	{
		[16]uint8{0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0},
		[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
	},
	// Luminance AC.
	{
		[16]uint8{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125},
		[]byte{
			0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12,
			0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
			0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08,
			0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
			0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16,
			0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
			0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
			0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
			0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59,
			0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
			0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79,
			0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
			0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
			0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
			0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
			0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
			0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4,
			0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
			0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea,
			0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa,
		},
	},
	// Chrominance DC.
	{
		[16]uint8{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
		[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
	},
	// Chrominance AC.
	{
		[16]uint8{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 119},
		[]byte{
			0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21,
			0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
			0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91,
			0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
			0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34,
			0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
			0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38,
			0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
			0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,
			0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
			0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78,
			0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
			0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96,
			0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
			0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
			0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
			0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2,
			0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
			0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9,
			0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa,
		},
	},
}

// huffEnc holds the code and length of every symbol of one table.
type huffEnc struct {
	code [256]uint16
	size [256]uint8
}

func newHuffEnc(s *huffSpec) *huffEnc {
	e := &huffEnc{}
	code, k := uint16(0), 0
	for l := 1; l <= 16; l++ {
		for range s.counts[l-1] {
			e.code[s.syms[k]] = code
			e.size[s.syms[k]] = uint8(l)
			code++
			k++
		}
		code <<= 1
	}
	return e
}

// covers reports whether s has a code for every symbol freq counts.
func (s *huffSpec) covers(freq *[256]int64) bool {
	var has [256]bool
	for _, v := range s.syms {
		has[v] = true
	}
	for i, f := range freq {
		if f > 0 && !has[i] {
			return false
		}
	}
	return true
}

// optimalSpec builds a length-limited optimal table for freq (T.81
// Annex K.2, as libjpeg's jpeg_gen_optimal_table).
func optimalSpec(freq0 *[256]int64) *huffSpec {
	var freq [257]int64
	copy(freq[:], freq0[:])
	freq[256] = 1 // reserved: no code is all ones
	var codesize [257]int
	var others [257]int
	for i := range others {
		others[i] = -1
	}
	for {
		c1, c2 := -1, -1
		var v1, v2 int64
		for i, f := range freq {
			if f > 0 && (c1 < 0 || f <= v1) {
				v1, c1 = f, i
			}
		}
		for i, f := range freq {
			if f > 0 && i != c1 && (c2 < 0 || f <= v2) {
				v2, c2 = f, i
			}
		}
		if c2 < 0 {
			break
		}
		freq[c1] += freq[c2]
		freq[c2] = 0
		codesize[c1]++
		for others[c1] >= 0 {
			c1 = others[c1]
			codesize[c1]++
		}
		others[c1] = c2
		codesize[c2]++
		for others[c2] >= 0 {
			c2 = others[c2]
			codesize[c2]++
		}
	}
	var nbits [258]int
	for _, cs := range codesize {
		if cs > 0 {
			nbits[cs]++
		}
	}
	for i := 257; i > 16; i-- {
		for nbits[i] > 0 {
			j := i - 2
			for nbits[j] == 0 {
				j--
			}
			nbits[i] -= 2
			nbits[i-1]++
			nbits[j+1] += 2
			nbits[j]--
		}
	}
	i := 16
	for nbits[i] == 0 {
		i--
	}
	nbits[i]-- // drop the reserved symbol's code
	s := &huffSpec{}
	for l := 1; l <= 16; l++ {
		s.counts[l-1] = uint8(nbits[l])
	}
	for l := 1; l <= 257; l++ {
		for j := range 256 {
			if codesize[j] == l {
				s.syms = append(s.syms, byte(j))
			}
		}
	}
	// Symbols sorted by code length; the counts were adjusted to at most
	// 16 bits, so trim to their total (the reserved symbol came last).
	n := 0
	for _, c := range s.counts {
		n += int(c)
	}
	s.syms = s.syms[:n]
	return s
}

// bitWriter writes entropy-coded bits with 0xFF byte stuffing, through
// a byte buffer flushed to w.
type bitWriter struct {
	w   *bufio.Writer
	buf []byte
	acc uint64
	n   uint
}

func (b *bitWriter) put(v uint32, n uint) {
	b.acc = b.acc<<n | uint64(v&(1<<n-1))
	b.n += n
	for b.n >= 8 {
		b.n -= 8
		c := byte(b.acc >> b.n)
		b.buf = append(b.buf, c)
		if c == 0xFF {
			b.buf = append(b.buf, 0)
		}
	}
	if len(b.buf) >= 16<<10 {
		b.flush()
	}
}

func (b *bitWriter) flush() {
	b.w.Write(b.buf)
	b.buf = b.buf[:0]
}

// pad fills the last byte with 1 bits and flushes.
func (b *bitWriter) pad() {
	if b.n > 0 {
		b.put(0xFF, 8-b.n)
	}
	b.flush()
}

// coder walks the blocks of a scan, counting symbols or writing them.
type coder struct {
	m     *Image
	count bool
	dcF   [][256]int64 // per component, when counting
	acF   [][256]int64
	dcE   []*huffEnc // per component, when writing
	acE   []*huffEnc
	bw    *bitWriter
	err   error
}

var errRange = unsupported("coefficient out of the baseline range")

func (c *coder) block(ci int, blk []int16, pred *int32) {
	diff := int32(blk[0]) - *pred
	*pred = int32(blk[0])
	c.symbol(ci, true, 0, diff)
	run := 0
	for k := 1; k < 64; k++ {
		v := blk[k]
		if v == 0 {
			run++
			continue
		}
		for run >= 16 {
			c.symbol(ci, false, 0xF0, 0)
			run -= 16
		}
		c.symbol(ci, false, byte(run<<4), int32(v))
		run = 0
	}
	if run > 0 {
		c.symbol(ci, false, 0, 0)
	}
}

// symbol codes a DC difference (dc) or an AC run/size symbol with value
// v; for AC, rs carries the run in its high nibble (0xF0 = ZRL, 0 with
// v == 0 = EOB).
func (c *coder) symbol(ci int, dc bool, rs byte, v int32) {
	a := v
	if a < 0 {
		a = -a
	}
	s := uint(bits.Len32(uint32(a)))
	if (dc && s > 11) || s > 15 {
		c.err = errRange
		return
	}
	sym := rs | byte(s)
	if c.count {
		if dc {
			c.dcF[ci][sym]++
		} else {
			c.acF[ci][sym]++
		}
		return
	}
	e := c.acE[ci]
	if dc {
		e = c.dcE[ci]
	}
	c.bw.put(uint32(e.code[sym]), uint(e.size[sym]))
	if s > 0 {
		if v < 0 {
			v--
		}
		c.bw.put(uint32(v), s)
	}
}

// scan walks every coded block of the scan of components comps in
// output order: interleaved MCUs for several components, the component's
// own block grid for one.
func (c *coder) scan(comps []int) {
	m := c.m
	ri := m.RestartInterval
	preds := make([]int32, len(m.Components))
	var units, perRow int
	if len(comps) == 1 {
		k := &m.Components[comps[0]]
		cw := (m.Width*k.H + m.Hmax - 1) / m.Hmax
		ch := (m.Height*k.V + m.Vmax - 1) / m.Vmax
		perRow = (cw + 7) / 8
		units = perRow * ((ch + 7) / 8)
	} else {
		perRow = m.MCUsX
		units = m.MCUsX * m.MCUsY
	}
	for u := 0; u < units && c.err == nil; u++ {
		if ri > 0 && u > 0 && u%ri == 0 {
			clear(preds)
			if !c.count {
				c.bw.pad()
				c.bw.w.Write([]byte{0xFF, 0xD0 + byte((u/ri-1)%8)})
			}
		}
		ux, uy := u%perRow, u/perRow
		if len(comps) == 1 {
			ci := comps[0]
			c.block(ci, m.Components[ci].Block(ux, uy), &preds[ci])
			continue
		}
		for _, ci := range comps {
			k := &m.Components[ci]
			for v := range k.V {
				for h := range k.H {
					c.block(ci, k.Block(ux*k.H+h, uy*k.V+v), &preds[ci])
				}
			}
		}
	}
	if !c.count {
		c.bw.pad()
	}
}

// Encode writes m as a baseline JPEG: SOI, DQT, SOF0, DHT, DRI (when
// RestartInterval is set), one SOS with its data, EOI. Nothing else: no
// APPn or COM segment, so no metadata at all.
func (m *Image) Encode(w io.Writer, tables Tables) error {
	if m == nil || len(m.Components) == 0 {
		return errors.New("jpegblock: Encode of an empty Image")
	}
	all := make([]int, len(m.Components))
	for i := range all {
		all[i] = i
	}
	return m.encode(w, tables, [][]int{all})
}

// encode writes m with one scan per element of scans, each listing the
// components it holds (every component in exactly one scan).
func (m *Image) encode(w io.Writer, tables Tables, scans [][]int) error {
	if m == nil || len(m.Components) == 0 || m.Width < 1 || m.Height < 1 || m.Width > 65535 || m.Height > 65535 {
		return errors.New("jpegblock: Encode of an empty or invalid Image")
	}
	nc := len(m.Components)
	cnt := &coder{m: m, count: true, dcF: make([][256]int64, nc), acF: make([][256]int64, nc)}
	for _, sc := range scans {
		cnt.scan(sc)
	}
	if cnt.err != nil {
		return cnt.err
	}
	// Choose table specs per component and class.
	dcS, acS := make([]*huffSpec, nc), make([]*huffSpec, nc)
	pick := func(std func(ci int) (*huffSpec, *huffSpec)) bool {
		for ci := range nc {
			d, a := std(ci)
			if d == nil || a == nil || !d.covers(&cnt.dcF[ci]) || !a.covers(&cnt.acF[ci]) {
				return false
			}
			dcS[ci], acS[ci] = d, a
		}
		return distinct(dcS) <= 2 && distinct(acS) <= 2
	}
	ok := false
	switch tables {
	case TablesKeep:
		ok = pick(func(ci int) (*huffSpec, *huffSpec) { return m.Components[ci].dc, m.Components[ci].ac })
	case TablesStandard:
		ok = pick(func(ci int) (*huffSpec, *huffSpec) {
			if ci == 0 {
				return stdSpec[0], stdSpec[1]
			}
			return stdSpec[2], stdSpec[3]
		})
	}
	if !ok {
		// Optimal: one table pair for the first component, one shared
		// by the others.
		var dc0, ac0, dc1, ac1 [256]int64
		for ci := range nc {
			d, a := &dc1, &ac1
			if ci == 0 {
				d, a = &dc0, &ac0
			}
			for s := range 256 {
				d[s] += cnt.dcF[ci][s]
				a[s] += cnt.acF[ci][s]
			}
		}
		od, oa := optimalSpec(&dc0), optimalSpec(&ac0)
		var od1, oa1 *huffSpec
		if nc > 1 {
			od1, oa1 = optimalSpec(&dc1), optimalSpec(&ac1)
		}
		for ci := range nc {
			dcS[ci], acS[ci] = od, oa
			if ci > 0 {
				dcS[ci], acS[ci] = od1, oa1
			}
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	seg := func(marker byte, body []byte) {
		bw.Write([]byte{0xFF, marker, byte((len(body) + 2) >> 8), byte(len(body) + 2)})
		bw.Write(body)
	}
	bw.Write([]byte{0xFF, 0xD8})
	var used [4]bool
	for _, k := range m.Components {
		if k.Tq < 0 || k.Tq > 3 || m.Quant[k.Tq] == nil {
			return fmt.Errorf("jpegblock: component %d has no quantisation table", k.ID)
		}
		used[k.Tq] = true
	}
	for t, u := range used {
		if u {
			body := make([]byte, 65)
			body[0] = byte(t)
			for i, q := range m.Quant[t] {
				if q == 0 || q > 255 {
					return fmt.Errorf("jpegblock: quantisation table %d value %d out of the 8-bit range", t, q)
				}
				body[1+i] = byte(q)
			}
			seg(0xDB, body)
		}
	}
	sof := []byte{8, byte(m.Height >> 8), byte(m.Height), byte(m.Width >> 8), byte(m.Width), byte(nc)}
	for _, k := range m.Components {
		sof = append(sof, k.ID, byte(k.H<<4|k.V), byte(k.Tq))
	}
	seg(0xC0, sof)
	// Table indices: the first distinct spec of each class is 0, the next 1.
	dcIdx, dcList := index(dcS)
	acIdx, acList := index(acS)
	var dht []byte
	for class, list := range [][]*huffSpec{dcList, acList} {
		for i, s := range list {
			dht = append(dht, byte(class<<4|i))
			dht = append(dht, s.counts[:]...)
			dht = append(dht, s.syms...)
		}
	}
	seg(0xC4, dht)
	if m.RestartInterval > 0 {
		seg(0xDD, []byte{byte(m.RestartInterval >> 8), byte(m.RestartInterval)})
	}
	wr := &coder{m: m, bw: &bitWriter{w: bw, buf: make([]byte, 0, 17<<10)}, dcE: make([]*huffEnc, nc), acE: make([]*huffEnc, nc)}
	encs := map[*huffSpec]*huffEnc{}
	for ci := range nc {
		for _, s := range []*huffSpec{dcS[ci], acS[ci]} {
			if encs[s] == nil {
				encs[s] = newHuffEnc(s)
			}
		}
		wr.dcE[ci], wr.acE[ci] = encs[dcS[ci]], encs[acS[ci]]
	}
	for _, sc := range scans {
		sos := []byte{byte(len(sc))}
		for _, ci := range sc {
			sos = append(sos, m.Components[ci].ID, byte(dcIdx[ci]<<4|acIdx[ci]))
		}
		seg(0xDA, append(sos, 0, 63, 0))
		wr.scan(sc)
		if wr.err != nil {
			return wr.err
		}
	}
	bw.Write([]byte{0xFF, 0xD9})
	return bw.Flush()
}

func distinct(s []*huffSpec) int {
	_, l := index(s)
	return len(l)
}

// index numbers the distinct specs of s in order of first use.
func index(s []*huffSpec) ([]int, []*huffSpec) {
	idx := make([]int, len(s))
	var list []*huffSpec
	for i, x := range s {
		j := 0
		for j < len(list) && list[j] != x {
			j++
		}
		if j == len(list) {
			list = append(list, x)
		}
		idx[i] = j
	}
	return idx, list
}
