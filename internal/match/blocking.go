package match

import (
	"hash/fnv"
	"sort"
	"strconv"
)

// Blocking: records are compared only when they share a blocking key, so
// that the number of compared pairs grows with the number of records, not
// with its square. Each record has several keys, and a pair needs only one
// of them, so one field that differs (a maiden name, a new phone, a swapped
// birth date) does not keep a pair apart:
//
//	key          made of
//	strong       a strong identifier: namespace and value (an SSN)
//	local        a local identifier: namespace and value (an MRN sent by another source)
//	phone        a phone number
//	email        an e-mail address
//	birth        year of birth, with day and month sorted (so a swap keeps the key)
//	name         family name's Double Metaphone, given name's formal name (or code), year of birth
//	address      ZIP, house number and street
//
// A block larger than Config.MaxBlock is not compared (a placeholder value
// that hundreds of records share says nothing); Stats counts such blocks.

// Key kinds, the first byte of each key.
const (
	keyStrong  = 's'
	keyLocal   = 'l'
	keyPhone   = 'p'
	keyEmail   = 'e'
	keyBirth   = 'd'
	keyName    = 'n'
	keyAddress = 'a'
)

// blockingKeys returns the keys of a profile, hashed, sorted and without
// repeats. A hash collision only merges two blocks, which compares a few more
// pairs and changes no decision.
func blockingKeys(p *profile) []uint64 {
	var keys []uint64
	add := func(kind byte, parts ...string) {
		h := fnv.New64a()
		h.Write([]byte{kind})
		for _, s := range parts {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		keys = append(keys, h.Sum64())
	}
	for _, id := range p.ids {
		if id.kind == Strong {
			add(keyStrong, id.namespace, id.value)
		} else {
			add(keyLocal, id.namespace, id.value)
		}
	}
	for _, ph := range p.phones {
		add(keyPhone, ph)
	}
	for _, e := range p.emails {
		add(keyEmail, e)
	}
	if p.birth.Day != 0 {
		lo, hi := min(p.birth.Month, p.birth.Day), max(p.birth.Month, p.birth.Day)
		add(keyBirth, strconv.Itoa(p.birth.Year), strconv.Itoa(lo), strconv.Itoa(hi))
	}
	if p.birth.Year != 0 {
		year := strconv.Itoa(p.birth.Year)
		for _, f := range p.family {
			for _, g := range p.given {
				if len(g.formal) > 0 {
					for _, fn := range g.formal {
						add(keyName, f.dm[0], fn, year)
					}
				} else {
					add(keyName, f.dm[0], g.dm[0], year)
				}
			}
		}
	}
	for _, a := range p.addrs {
		if a.Number != "" && a.Street != "" && a.Zip != "" {
			add(keyAddress, a.Zip, a.Number, a.Street)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	out := keys[:0]
	for i, k := range keys {
		if i == 0 || k != keys[i-1] {
			out = append(out, k)
		}
	}
	return out
}

// pairKey packs two record handles, the smaller first.
func pairKey(a, b int32) uint64 {
	if a > b {
		a, b = b, a
	}
	return uint64(a)<<32 | uint64(uint32(b))
}

func splitPairKey(k uint64) (int32, int32) { return int32(k >> 32), int32(uint32(k)) }

// candidatePairs returns every pair of handles that share a block of at most
// maxBlock records, sorted and without repeats, and the number of blocks left
// out for their size.
func candidatePairs(blocks map[uint64][]int32, maxBlock int) (pairs []uint64, skipped int) {
	for _, members := range blocks {
		if len(members) > maxBlock {
			skipped++
			continue
		}
		for i := 0; i < len(members); i++ {
			for j := i + 1; j < len(members); j++ {
				pairs = append(pairs, pairKey(members[i], members[j]))
			}
		}
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i] < pairs[j] })
	out := pairs[:0]
	for i, k := range pairs {
		if i == 0 || k != pairs[i-1] {
			out = append(out, k)
		}
	}
	return out, skipped
}
