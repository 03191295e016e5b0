package jpegblock

// Progressive (SOF2) scans, ITU T.81 Annex G, decoded into the same
// coefficient arrays as sequential ones, with image/jpeg's rules
// (scan.go) so that the coefficients are exactly those image/jpeg
// reconstructs its pixels from.

// progState is the state a progressive scan carries across blocks.
type progState struct {
	ss, se int // spectral selection, zig-zag indices
	ah, al uint
	eobRun int32
}

// decodeProgScan decodes the progressive scan whose header is seg and
// whose data starts at data[pos]; it returns the offset of the marker
// after the data. coded flags the components that have had a DC scan.
func (m *Image) decodeProgScan(data []byte, pos int, seg []byte, dcs, acs *[4]*huffDec, ri int, coded []bool) (int, error) {
	if len(seg) < 1 {
		return 0, corrupt("scan header too short")
	}
	ns := int(seg[0])
	if ns < 1 || ns > len(m.Components) || len(seg) != 4+2*ns {
		return 0, corrupt("scan header with %d components, length %d", ns, len(seg))
	}
	st := progState{ss: int(seg[1+2*ns]), se: int(seg[2+2*ns]), ah: uint(seg[3+2*ns] >> 4), al: uint(seg[3+2*ns] & 15)}
	if (st.ss == 0 && st.se != 0) || st.ss > st.se || st.se > 63 {
		return 0, corrupt("progressive scan with spectral selection %d-%d", st.ss, st.se)
	}
	if st.ss != 0 && ns != 1 {
		return 0, corrupt("progressive AC scan with %d components", ns)
	}
	if (st.ah != 0 && st.ah != st.al+1) || st.al > 13 {
		return 0, corrupt("successive approximation %d/%d", st.ah, st.al)
	}
	sc := make([]scanComp, ns)
	idx := make([]int, ns)
	for i := range sc {
		id, t := seg[1+2*i], seg[2+2*i]
		idx[i] = -1
		for j := range m.Components {
			if m.Components[j].ID == id {
				sc[i].c, idx[i] = &m.Components[j], j
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
		if td > 3 || ta > 3 {
			return 0, corrupt("scan uses Huffman tables %d/%d", td, ta)
		}
		switch {
		case st.ss == 0 && st.ah == 0:
			if sc[i].dc = dcs[td]; sc[i].dc == nil {
				return 0, corrupt("scan uses undefined DC Huffman table %d", td)
			}
		case st.ss > 0:
			if sc[i].ac = acs[ta]; sc[i].ac == nil {
				return 0, corrupt("scan uses undefined AC Huffman table %d", ta)
			}
		}
	}
	if ns == 1 {
		c := sc[0].c
		// image/jpeg walks a non-interleaved scan over MCUsX*H x
		// MCUsY*V blocks, skipping those starting past the image, and
		// counts restart intervals in MCUs of the frame. Refuse the
		// (unusual) sampling for which this is not the T.81 block
		// grid and restart count: the coefficients would differ from
		// what image/jpeg decodes.
		cw := (m.Width*c.H + m.Hmax - 1) / m.Hmax
		chh := (m.Height*c.V + m.Vmax - 1) / m.Vmax
		if min(m.MCUsX*c.H, (m.Width+7)/8) != (cw+7)/8 || min(m.MCUsY*c.V, (m.Height+7)/8) != (chh+7)/8 {
			return 0, unsupported("progressive scan of a component with %dx%d sampling in a %dx%d frame", c.H, c.V, m.Hmax, m.Vmax)
		}
		if ri > 0 && c.H*c.V > 1 {
			return 0, unsupported("restart interval in a progressive scan of a component with %dx%d sampling", c.H, c.V)
		}
	}
	if st.ss == 0 && st.ah == 0 {
		for _, j := range idx {
			coded[j] = true
		}
	} else {
		for i, j := range idx {
			if !coded[j] {
				return 0, corrupt("progressive scan refines component %d before its first DC scan", sc[i].c.ID)
			}
		}
	}
	br := &bitReader{data: data, pos: pos}
	err := m.walkScan(br, sc, ri, func() { st.eobRun = 0 }, func(s *scanComp, blk []int16) error {
		return br.progBlock(s, &st, blk)
	})
	if err != nil {
		return 0, err
	}
	return nextMarker(data, br.pos)
}

// setCoef stores v in blk[k] when it fits 16 bits.
func setCoef(blk []int16, k int, v int32) error {
	if v < -32768 || v > 32767 {
		return corrupt("coefficient %d out of range", v)
	}
	blk[k] = int16(v)
	return nil
}

// progBlock decodes one block of a progressive scan.
func (b *bitReader) progBlock(s *scanComp, st *progState, blk []int16) error {
	if st.ss == 0 {
		if st.ah != 0 {
			// DC refinement: one bit.
			bit, err := b.bits(1)
			if err != nil {
				return err
			}
			if bit != 0 {
				blk[0] |= 1 << st.al
			}
			return nil
		}
		if err := b.dc(s); err != nil {
			return err
		}
		return setCoef(blk, 0, s.pred<<st.al)
	}
	if st.ah != 0 {
		return b.refineAC(s, st, blk)
	}
	// AC first pass.
	if st.eobRun > 0 {
		st.eobRun--
		return nil
	}
	for k := st.ss; k <= st.se; k++ {
		rs, err := b.decode(s.ac)
		if err != nil {
			return err
		}
		r, sz := int(rs>>4), uint(rs&15)
		if sz == 0 {
			if r != 15 {
				if err := b.eob(st, r); err != nil {
					return err
				}
				st.eobRun--
				return nil
			}
			k += 15
			continue
		}
		k += r
		if k > st.se {
			return corrupt("AC run past the end of the spectral band")
		}
		v, err := b.bits(sz)
		if err != nil {
			return err
		}
		if err := setCoef(blk, k, extend(v, sz)<<st.al); err != nil {
			return err
		}
	}
	return nil
}

// eob reads an end-of-band run of 2^r + r more bits blocks into
// st.eobRun.
func (b *bitReader) eob(st *progState, r int) error {
	st.eobRun = 1 << r
	if r != 0 {
		v, err := b.bits(uint(r))
		if err != nil {
			return err
		}
		st.eobRun |= v
	}
	return nil
}

// refineAC decodes one block of an AC refinement scan (T.81 G.1.2.3),
// as image/jpeg's refine does.
func (b *bitReader) refineAC(s *scanComp, st *progState, blk []int16) error {
	delta := int32(1) << st.al
	k := st.ss
	if st.eobRun == 0 {
	loop:
		for ; k <= st.se; k++ {
			rs, err := b.decode(s.ac)
			if err != nil {
				return err
			}
			r, sz := int(rs>>4), rs&15
			z := int32(0)
			switch sz {
			case 0:
				if r != 15 {
					if err := b.eob(st, r); err != nil {
						return err
					}
					break loop
				}
			case 1:
				z = delta
				bit, err := b.bits(1)
				if err != nil {
					return err
				}
				if bit == 0 {
					z = -z
				}
			default:
				return corrupt("AC refinement symbol %#x", rs)
			}
			if k, err = b.refineNonZeroes(blk, k, st.se, r, delta); err != nil {
				return err
			}
			if k > st.se {
				return corrupt("too many AC refinement coefficients")
			}
			if z != 0 {
				blk[k] = int16(z)
			}
		}
	}
	if st.eobRun > 0 {
		st.eobRun--
		if _, err := b.refineNonZeroes(blk, k, st.se, -1, delta); err != nil {
			return err
		}
	}
	return nil
}

// refineNonZeroes refines the non-zero coefficients of blk from index k
// on, stopping at the (nz+1)th zero one, whose index it returns.
func (b *bitReader) refineNonZeroes(blk []int16, k, se, nz int, delta int32) (int, error) {
	for ; k <= se; k++ {
		if blk[k] == 0 {
			if nz == 0 {
				break
			}
			nz--
			continue
		}
		bit, err := b.bits(1)
		if err != nil {
			return 0, err
		}
		if bit == 0 {
			continue
		}
		v := int32(blk[k])
		if v >= 0 {
			v += delta
		} else {
			v -= delta
		}
		if err := setCoef(blk, k, v); err != nil {
			return 0, err
		}
	}
	return k, nil
}
