package offline

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Column is one column read from a CSV file. Blank and non-finite cells
// (empty, NaN, NA, Inf) are NaN: gaps, which the analysis skips. A blank
// line between data rows is a row of gaps too (a sample that was not
// written), so the samples after it keep their times; blank lines before
// the first row and after the last are not rows.
type Column struct {
	Name   string    // header name, or "column N" when the file has no header
	Number int       // 1-based position in the row
	Values []float64 // one per data row
	Gaps   int       // NaN cells, blank lines included
	// BlankLines is how many blank lines were read as rows of gaps (the
	// same for every column of a file).
	BlankLines int
}

// ReadCSV reads the columns named in sel from a CSV (or TSV, or
// semicolon-separated) file. A selector is a header name (case-insensitive)
// or a 1-based column number. The first row is a header when one of its
// selected cells is not a number. Lines starting with '#' are comments.
// Only the selected cells must be numbers, so a text column elsewhere is
// fine. Errors name the file, line and column and say what to do.
func ReadCSV(r io.Reader, file string, sel []string) ([]Column, error) {
	br := newSniffer(r)
	comma, err := br.sniff()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	cr := csv.NewReader(newBlankMarker(br))
	cr.Comma = comma
	cr.Comment = '#'
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1 // checked here: a blank line is a record of its own

	var first []string
	for {
		first, err = cr.Read()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: the file is empty: give a CSV recording with one row per sample", file)
		}
		if err != nil {
			return nil, csvErr(file, err)
		}
		if !isBlank(first) {
			break // blank lines before the first row are not rows
		}
	}
	first = append([]string(nil), first...)
	line, _ := cr.FieldPos(0)
	width := len(first)

	cols, header, err := resolve(file, line, first, sel)
	if err != nil {
		return nil, err
	}
	if !header {
		if err := parseRow(file, line, first, cols); err != nil {
			return nil, err
		}
	}
	blank := 0 // blank lines not yet known to lie between rows
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break // blank lines at the end are not rows
		}
		if err != nil {
			return nil, csvErr(file, err)
		}
		if isBlank(rec) {
			blank++
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != width {
			return nil, fmt.Errorf("%s:%d: this row has a different number of cells from the first row: every row needs the same columns (%d cells, the first row has %d)", file, line, len(rec), width)
		}
		if blank > 0 {
			for i := range cols {
				for range blank {
					cols[i].Values = append(cols[i].Values, math.NaN())
				}
				cols[i].Gaps += blank
				cols[i].BlankLines += blank
			}
			blank = 0
		}
		if err := parseRow(file, line, rec, cols); err != nil {
			return nil, err
		}
	}
	if len(cols) > 0 && len(cols[0].Values) == 0 {
		return nil, fmt.Errorf("%s: no data rows after the header: give a recording with one row per sample", file)
	}
	return cols, nil
}

// resolve maps selectors to columns and decides whether row is a header.
func resolve(file string, line int, row []string, sel []string) ([]Column, bool, error) {
	// A name selector needs a header; with numbers only, the row is a
	// header when one of the selected cells is not a number.
	header := false
	for _, s := range sel {
		k, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			header = true
			break
		}
		if k >= 1 && k <= len(row) {
			if _, ok := number(row[k-1]); !ok {
				header = true
				break
			}
		}
	}
	cols := make([]Column, len(sel))
	for i, s := range sel {
		s = strings.TrimSpace(s)
		if k, err := strconv.Atoi(s); err == nil {
			if k < 1 || k > len(row) {
				return nil, false, fmt.Errorf("%s:%d: there is no column %d: the file has %d columns (numbers start at 1)", file, line, k, len(row))
			}
			cols[i] = Column{Number: k, Name: fmt.Sprintf("column %d", k)}
			if header {
				cols[i].Name = strings.TrimSpace(row[k-1])
			}
			continue
		}
		if !header || allNumbers(row) {
			return nil, false, fmt.Errorf("%s:%d: no header row (the first row is numbers), so there is no column named %q: give its number instead (1 = first column)", file, line, s)
		}
		found := 0
		for j, h := range row {
			if strings.EqualFold(strings.TrimSpace(h), s) {
				found = j + 1
				break
			}
		}
		if found == 0 {
			return nil, false, fmt.Errorf("%s:%d: no column named %q; the header has %s", file, line, s, quoteList(row))
		}
		cols[i] = Column{Number: found, Name: strings.TrimSpace(row[found-1])}
	}
	return cols, header, nil
}

func allNumbers(row []string) bool {
	for _, c := range row {
		if _, ok := number(c); !ok {
			return false
		}
	}
	return true
}

func parseRow(file string, line int, rec []string, cols []Column) error {
	for i := range cols {
		c := &cols[i]
		cell := rec[c.Number-1]
		v, ok := number(cell)
		if !ok {
			return fmt.Errorf("%s:%d: column %q (%d): %q is not a number: fix the cell, or leave it blank to mark a gap", file, line, c.Name, c.Number, clip(cell))
		}
		if math.IsNaN(v) {
			c.Gaps++
		}
		c.Values = append(c.Values, v)
	}
	return nil
}

// number parses a cell; blank and non-finite cells are NaN (ok), anything
// else that is not a number is not ok.
func number(cell string) (float64, bool) {
	s := strings.TrimSpace(cell)
	switch strings.ToLower(s) {
	case "", "nan", "na", "n/a", "null", "none", "-":
		return math.NaN(), true
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return math.NaN(), true // out of float range: a gap, not an error
		}
		return 0, false
	}
	if math.IsInf(v, 0) {
		return math.NaN(), true
	}
	return v, true
}

func csvErr(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return fmt.Errorf("%s:%d: this row has a different number of cells from the first row: every row needs the same columns (%v)", file, pe.Line, pe.Err)
		}
		return fmt.Errorf("%s:%d:%d: %v: check the quoting on that line", file, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %v", file, err)
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func quoteList(row []string) string {
	var b strings.Builder
	for i, h := range row {
		if i == 8 {
			fmt.Fprintf(&b, ", … (%d in all)", len(row))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", clip(strings.TrimSpace(h)))
	}
	return b.String()
}

// sniffer peeks at the first line to pick the separator.
type sniffer struct {
	r    io.Reader
	head []byte
}

func newSniffer(r io.Reader) *sniffer { return &sniffer{r: r} }

func (s *sniffer) sniff() (rune, error) {
	buf := make([]byte, 4096)
	n, err := io.ReadAtLeast(s.r, buf, 1)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return 0, err
	}
	s.head = buf[:n]
	first := ""
	for _, l := range strings.Split(string(s.head), "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			first = l
			break
		}
	}
	switch {
	case strings.Contains(first, ","):
		return ',', nil
	case strings.Contains(first, "\t"):
		return '\t', nil
	case strings.Contains(first, ";"):
		return ';', nil
	}
	return ',', nil
}

func (s *sniffer) Read(p []byte) (int, error) {
	if len(s.head) > 0 {
		n := copy(p, s.head)
		s.head = s.head[n:]
		return n, nil
	}
	return s.r.Read(p)
}

// blankMark stands for a blank line: encoding/csv skips empty lines, and a
// blank line in a recording is a sample that was not written, so
// blankMarker puts this in its place before the CSV reader sees it. (A
// line holding only this byte reads as blank too: it is no number either.)
const blankMark = "\x1e"

func isBlank(rec []string) bool { return len(rec) == 1 && rec[0] == blankMark }

// blankMarker passes a CSV stream through, replacing each blank line (only
// spaces, tabs or a carriage return) outside a quoted cell with blankMark.
// Line numbers do not change. It follows quotes the way encoding/csv does
// on valid input; on invalid input the CSV reader reports the error.
type blankMarker struct {
	br      *bufio.Reader
	buf     []byte // backs out
	out     []byte // not yet read
	lineBeg bool   // the next byte starts a line
	quoted  bool   // inside a quoted cell
	comment bool   // the current line is a comment: quotes in it do not count
	err     error
}

func newBlankMarker(r io.Reader) *blankMarker {
	return &blankMarker{br: bufio.NewReaderSize(r, 64<<10), lineBeg: true}
}

func (b *blankMarker) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		chunk, err := b.br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			b.err = err
		}
		if len(chunk) == 0 {
			continue
		}
		whole := len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
		if b.lineBeg && !b.quoted {
			b.comment = chunk[0] == '#'
			if whole && len(bytes.Trim(chunk, " \t\r\n")) == 0 {
				b.buf = append(append(b.buf[:0], blankMark...), chunk[len(bytes.TrimRight(chunk, "\r\n")):]...)
				b.out = b.buf
				b.lineBeg = true
				continue
			}
		}
		if !b.comment {
			b.quoted = b.quoted != (bytes.Count(chunk, []byte{'"'})%2 == 1)
		}
		b.buf = append(b.buf[:0], chunk...)
		b.out = b.buf
		b.lineBeg = whole
		if whole && !b.quoted {
			b.comment = false
		}
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}
