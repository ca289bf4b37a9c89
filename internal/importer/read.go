package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// MaxLine bounds one line of an import file: a record is a few hundred
// bytes, and a bound keeps a malformed file (a missing newline, a binary
// file) from being read whole into memory.
const MaxLine = 64 << 10

// Format is how an import file is written.
type Format string

// The formats an import file may have.
const (
	JSONLines Format = "jsonl" // one JSON object per line
	CSV       Format = "csv"   // a header row naming the columns, then one record per row
)

// FormatOf picks the format from a file name's extension.
func FormatOf(name string) (Format, error) {
	switch {
	case strings.HasSuffix(name, ".jsonl"), strings.HasSuffix(name, ".ndjson"):
		return JSONLines, nil
	case strings.HasSuffix(name, ".csv"):
		return CSV, nil
	}
	return "", fmt.Errorf("cannot tell the format of %q from its extension (.jsonl, .ndjson or .csv): give --format jsonl or csv", name)
}

// ParseFormat reads a --format value.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case JSONLines, CSV:
		return Format(s), nil
	case "ndjson":
		return JSONLines, nil
	}
	return "", fmt.Errorf("--format %q must be jsonl or csv", s)
}

// rowReader reads the records of a file into a row struct one at a time.
type rowReader interface {
	// next decodes the next record into row (a pointer to a zeroed row
	// struct) and returns its line number. A record that cannot be read
	// is a *RowError, after which reading goes on; io.EOF ends the file;
	// any other error stops the import.
	next(row any) (line int, err error)
}

// RowError is a record refused, with the line it starts on and the field
// at fault (empty for the whole record). Reason never holds a secret or a
// password hash.
type RowError struct {
	Line   int
	Field  string
	Reason string
}

func (e *RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Reason)
}

// jsonReader reads JSON Lines.
type jsonReader struct {
	r    *bufio.Reader
	line int
}

func newJSONReader(r io.Reader) *jsonReader {
	return &jsonReader{r: bufio.NewReaderSize(r, MaxLine)}
}

func (j *jsonReader) next(row any) (int, error) {
	for {
		j.line++
		b, err := j.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of the line
				_, err = j.r.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return j.line, err
			}
			return j.line, &RowError{Line: j.line, Reason: fmt.Sprintf("line longer than %d KiB", MaxLine>>10)}
		}
		if err != nil && err != io.EOF {
			return j.line, err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			if err == io.EOF {
				return j.line, io.EOF
			}
			continue // blank lines separate nothing
		}
		return j.line, decodeJSON(b, row, j.line)
	}
}

// decodeJSON decodes one object, refusing fields the schema does not have.
// Its errors name the field but never quote the line: it may hold a secret.
func decodeJSON(b []byte, row any, line int) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(row)
	if err == nil {
		if dec.More() {
			return &RowError{Line: line, Reason: "more than one JSON value on the line"}
		}
		return nil
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return &RowError{Line: line, Field: te.Field, Reason: fmt.Sprintf("must be %s, not a JSON %s", typeName(te.Type), te.Value)}
	case errors.As(err, &se):
		return &RowError{Line: line, Reason: fmt.Sprintf("not a JSON object (syntax error at byte %d)", se.Offset)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return &RowError{Line: line, Field: field, Reason: "not a field of this kind of record (see docs/MIGRATING.md)"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &RowError{Line: line, Reason: "not a JSON object (it ends too early)"}
	}
	return &RowError{Line: line, Reason: "not a JSON object"}
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "an array of strings"
	case reflect.Int64, reflect.Int:
		return "a whole number"
	case reflect.Pointer:
		return typeName(t.Elem())
	}
	return t.String()
}

// csvReader reads a CSV file whose header row names the columns, which
// are the JSON member names; a list (memberships, grant_types, …) is
// space-separated in one cell.
type csvReader struct {
	r      *csv.Reader
	cols   []string
	fields [][]int // struct field index (through embedded structs) of each column
	typ    reflect.Type
}

// newCSVReader reads the header row; an unknown or repeated column stops
// the import, naming the columns the kind has.
func newCSVReader(r io.Reader, rowType reflect.Type) (*csvReader, error) {
	c := csv.NewReader(&lineLimit{r: r})
	c.ReuseRecord = true
	header, err := c.Read()
	if err == io.EOF {
		return nil, errors.New("the file is empty: a CSV import file starts with a header row naming its columns")
	}
	if err != nil {
		return nil, fmt.Errorf("read the header row: %w", err)
	}
	cr := &csvReader{r: c, typ: rowType, cols: slices.Clone(header)}
	names := fieldNames(rowType)
	for _, h := range cr.cols {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) // a byte-order mark from a spreadsheet
		i, ok := names[h]
		if !ok {
			return nil, fmt.Errorf("the header names column %q, which this kind of record does not have (its columns: %s)",
				h, strings.Join(columnList(rowType), ", "))
		}
		if slices.ContainsFunc(cr.fields, func(f []int) bool { return slices.Equal(f, i) }) {
			return nil, fmt.Errorf("the header names column %q twice", h)
		}
		cr.fields = append(cr.fields, i)
	}
	c.FieldsPerRecord = len(header)
	return cr, nil
}

func (c *csvReader) next(row any) (int, error) {
	rec, err := c.r.Read()
	line, _ := c.r.FieldPos(0)
	if err == io.EOF {
		return line, io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, errLineTooLong) {
			return pe.StartLine, err // the reader cannot find the next record
		}
		reason := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			reason = fmt.Sprintf("has %d cells, the header %d", len(rec), len(c.cols))
		}
		return pe.StartLine, &RowError{Line: pe.StartLine, Reason: reason}
	}
	if err != nil {
		return line, err
	}
	v := reflect.ValueOf(row).Elem()
	for i, cell := range rec {
		if cell == "" {
			continue // an empty cell is an absent field
		}
		if err := setCell(v.FieldByIndex(c.fields[i]), cell); err != nil {
			return line, &RowError{Line: line, Field: c.cols[i], Reason: err.Error()}
		}
	}
	return line, nil
}

// setCell stores one CSV cell in a row struct's field.
func setCell(f reflect.Value, cell string) error {
	switch f.Kind() {
	case reflect.String:
		f.SetString(cell)
	case reflect.Slice:
		f.Set(reflect.ValueOf(strings.Fields(cell)))
	case reflect.Bool:
		b, err := parseBool(cell)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case reflect.Pointer:
		p := reflect.New(f.Type().Elem())
		if err := setCell(p.Elem(), cell); err != nil {
			return err
		}
		f.Set(p)
	case reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(cell), 10, 64)
		if err != nil {
			return errors.New("must be a whole number")
		}
		f.SetInt(n)
	default:
		return fmt.Errorf("unsupported field type %s", f.Type())
	}
	return nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "t", "y":
		return true, nil
	case "false", "0", "no", "f", "n":
		return false, nil
	}
	return false, errors.New("must be true or false")
}

// fieldNames maps a row struct's JSON names, its embedded structs'
// included, to field indexes.
func fieldNames(t reflect.Type) map[string][]int {
	m := map[string][]int{}
	for _, f := range reflect.VisibleFields(t) {
		if name := jsonName(f); name != "" {
			m[name] = f.Index
		}
	}
	return m
}

func columnList(t reflect.Type) []string {
	var out []string
	for _, f := range reflect.VisibleFields(t) {
		if name := jsonName(f); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// jsonName is the column a struct field reads: its JSON name; "" for an
// embedded struct (its fields are columns) or a field JSON skips.
func jsonName(f reflect.StructField) string {
	if f.Anonymous {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	return name
}

var errLineTooLong = fmt.Errorf("a line is longer than %d KiB", MaxLine>>10)

// lineLimit fails a read once a line runs past MaxLine: a CSV record may
// span lines inside quotes, so unlike JSON Lines the reader cannot skip to
// the next record, and the import stops.
type lineLimit struct {
	r   io.Reader
	run int // bytes since the last newline
}

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i := range n {
		if p[i] == '\n' {
			l.run = 0
		} else if l.run++; l.run > MaxLine {
			return i, errLineTooLong
		}
	}
	return n, err
}
