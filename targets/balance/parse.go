package balance

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// ParseEndpoints parses a comma-separated endpoint list in which each item
// is an address, optionally followed by =weight (1..MaxWeight, default 1):
//
//	127.0.0.1:8081,127.0.0.1:8082=3
//
// Spaces around items, addresses and weights are ignored. Errors name the
// bad item by its 1-based position and text: an empty item, a missing
// address or weight, a weight that is not an integer or out of range, an
// address with spaces or control characters, and a duplicate address.
func ParseEndpoints(s string) ([]Endpoint, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("endpoints: empty list")
	}
	items := strings.Split(s, ",")
	eps := make([]Endpoint, 0, len(items))
	seen := make(map[string]int, len(items))
	for i, raw := range items {
		item := strings.TrimSpace(raw)
		if item == "" {
			return nil, fmt.Errorf("endpoints: item %d is empty (stray comma?)", i+1)
		}
		ep, err := parseEndpoint(item)
		if err != nil {
			return nil, fmt.Errorf("endpoints: item %d %q: %w", i+1, item, err)
		}
		if j, ok := seen[ep.Addr]; ok {
			return nil, fmt.Errorf("endpoints: item %d %q: duplicate of item %d", i+1, item, j+1)
		}
		seen[ep.Addr] = i
		eps = append(eps, ep)
	}
	return eps, nil
}

func parseEndpoint(item string) (Endpoint, error) {
	addr, wstr, hasWeight := strings.Cut(item, "=")
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return Endpoint{}, errors.New("missing address")
	}
	if strings.ContainsFunc(addr, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return Endpoint{}, fmt.Errorf("address %q contains a space or control character", addr)
	}
	ep := Endpoint{Addr: addr, Weight: 1}
	if !hasWeight {
		return ep, nil
	}
	wstr = strings.TrimSpace(wstr)
	if wstr == "" {
		return Endpoint{}, errors.New("missing weight after '='")
	}
	if strings.Contains(wstr, "=") {
		return Endpoint{}, errors.New("more than one '='")
	}
	w, err := strconv.Atoi(wstr)
	if err != nil {
		return Endpoint{}, fmt.Errorf("weight %q is not an integer", wstr)
	}
	if w < 1 || w > MaxWeight {
		return Endpoint{}, fmt.Errorf("weight %d is out of range 1..%d", w, MaxWeight)
	}
	ep.Weight = w
	return ep, nil
}
