package jsvalue

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxDepth is the deepest nesting the encoders and decoders accept. A cyclic
// value reaches it and is reported as an error instead of overflowing the
// stack; no real payload comes near it.
const MaxDepth = 1000

var (
	timeType          = reflect.TypeFor[time.Time]()
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
	jsonNumberType    = reflect.TypeFor[json.Number]()
	objectType        = reflect.TypeFor[Object]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// value writes one Go value with encoding/json semantics (json tags,
// omitempty/omitzero, ",string", embedded structs, json.Marshaler and
// encoding.TextMarshaler, sorted map keys), except that []byte is binary and
// time.Time is the string a JavaScript Date serialises to.
func (w *Writer) value(v any, depth int) error {
	// Fast paths for the types that decoded JSON and typical payloads use.
	switch x := v.(type) {
	case nil:
		w.Null()
		return nil
	case string:
		w.Str(x)
		return nil
	case bool:
		w.Bool(x)
		return nil
	case int:
		w.Int(int64(x))
		return nil
	case int64:
		w.Int(x)
		return nil
	case float64:
		return w.Float(x)
	case []byte:
		if x == nil {
			w.Null()
			return nil
		}
		return w.Binary(x)
	case json.RawMessage:
		return w.rawJSON(x, depth)
	case json.Number:
		return w.rawJSON([]byte(x), depth)
	case Object:
		if depth >= MaxDepth {
			return errDepth()
		}
		w.BeginObject(len(x))
		for _, m := range x {
			w.Key(m.Key)
			if err := w.value(m.Value, depth+1); err != nil {
				return err
			}
		}
		w.EndObject()
		return nil
	case time.Time:
		w.timeValue(x)
		return nil
	case []any:
		if x == nil {
			w.Null()
			return nil
		}
		if depth >= MaxDepth {
			return errDepth()
		}
		w.BeginArray(len(x))
		for _, e := range x {
			if err := w.value(e, depth+1); err != nil {
				return err
			}
		}
		w.EndArray()
		return nil
	case map[string]any:
		if x == nil {
			w.Null()
			return nil
		}
		if depth >= MaxDepth {
			return errDepth()
		}
		var arr [16]string
		keys := arr[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		w.BeginObject(len(keys))
		for _, k := range keys {
			w.Key(k)
			if err := w.value(x[k], depth+1); err != nil {
				return err
			}
		}
		w.EndObject()
		return nil
	}
	return w.reflectValue(reflect.ValueOf(v), depth)
}

func errDepth() error {
	return errorf(ErrUnsupportedValue, "value is cyclic or nested deeper than %d levels", MaxDepth)
}

// Binary writes binary data: msgpack bin, a placeholder with a
// PlaceholderWriter, or ErrBinaryInJSON with a JSONWriter. A nil p is
// binary too (an empty one); Value writes a nil []byte as null.
func (w *Writer) Binary(p []byte) error {
	if w.json {
		if w.placeholders {
			w.placeholder(p)
			return nil
		}
		return ErrBinaryInJSON
	}
	w.binValue(p)
	return nil
}

// timeValue writes t as Date#toJSON does: UTC, millisecond precision,
// "2017-12-19T14:00:00.000Z", with the ±YYYYYY form outside years 0..9999.
func (w *Writer) timeValue(t time.Time) {
	var tmp [40]byte
	w.Str(string(appendJSDate(tmp[:0], t))) // the conversion does not escape: no allocation
}

func appendJSDate(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	switch {
	case y >= 0 && y <= 9999:
		b = appendPad(b, y, 4)
	case y < 0:
		b = appendPad(append(b, '-'), -y, 6)
	default:
		b = appendPad(append(b, '+'), y, 6)
	}
	b = appendPad(append(b, '-'), int(mo), 2)
	b = appendPad(append(b, '-'), d, 2)
	b = appendPad(append(b, 'T'), h, 2)
	b = appendPad(append(b, ':'), mi, 2)
	b = appendPad(append(b, ':'), sec, 2)
	b = appendPad(append(b, '.'), t.Nanosecond()/1e6, 3)
	return append(b, 'Z')
}

func appendPad(b []byte, v, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], int64(v), 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func (w *Writer) reflectValue(v reflect.Value, depth int) error {
	return w.reflectValueKind(v, depth, -1)
}

// reflectValueKind writes v; mk is the marshaler kind of v's type when the
// caller knows it (struct fields of a static type), -1 otherwise.
func (w *Writer) reflectValueKind(v reflect.Value, depth int, mk int) error {
	if depth >= MaxDepth {
		return errDepth()
	}
	if !v.IsValid() {
		w.Null()
		return nil
	}
	t := v.Type()
	switch k := t.Kind(); {
	case k != reflect.Struct && k != reflect.Slice && k != reflect.String:
	case t == timeType:
		t, _ := reflect.TypeAssert[time.Time](v) // no boxing allocation
		w.timeValue(t)
		return nil
	case t == rawMessageType:
		return w.rawJSON(v.Bytes(), depth)
	case t == jsonNumberType:
		return w.rawJSON([]byte(v.String()), depth)
	case t == objectType:
		return w.value(v.Interface(), depth)
	}
	if mk < 0 {
		mk = marshalerKindOf(t)
	}
	if m := mk; m != 0 {
		switch {
		case m&jsonMarshaler != 0:
			return w.marshalerValue(v, depth)
		case m&textMarshaler != 0:
			return w.textMarshalerValue(v)
		case m&ptrJSONMarshaler != 0 && v.CanAddr():
			return w.marshalerValue(v.Addr(), depth)
		case m&ptrTextMarshaler != 0 && v.CanAddr():
			return w.textMarshalerValue(v.Addr())
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		w.Bool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.Int(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		w.Uint(v.Uint())
	case reflect.Float32:
		// Shortest float32 text, read back as float64: 0.1 stays 0.1 (as in
		// encoding/json), not 0.10000000149011612.
		var tmp [32]byte
		f, _ := strconv.ParseFloat(string(strconv.AppendFloat(tmp[:0], v.Float(), 'g', -1, 32)), 64)
		return w.Float(f)
	case reflect.Float64:
		return w.Float(v.Float())
	case reflect.String:
		w.Str(v.String())
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			w.Null()
			return nil
		}
		return w.reflectValue(v.Elem(), depth+1)
	case reflect.Slice:
		if v.IsNil() {
			w.Null()
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(jsonMarshalerType) &&
			!reflect.PointerTo(t.Elem()).Implements(textMarshalerType) {
			return w.Binary(v.Bytes())
		}
		return w.arrayValue(v, depth)
	case reflect.Array:
		return w.arrayValue(v, depth)
	case reflect.Map:
		if v.IsNil() {
			w.Null()
			return nil
		}
		return w.mapValue(v, depth)
	case reflect.Struct:
		return w.structValue(v, depth)
	default:
		return errorf(ErrUnsupportedValue, "cannot encode a value of type %s", t)
	}
	return nil
}

// Marshaler kinds of a non-pointer, non-interface type, as encoding/json
// checks them: the value's methods, then the pointer's for addressable values.
const (
	jsonMarshaler = 1 << iota
	textMarshaler
	ptrJSONMarshaler
	ptrTextMarshaler
	marshalerKnown
)

var marshalerCache sync.Map // reflect.Type -> int

func marshalerKindOf(t reflect.Type) int {
	if t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface {
		return 0
	}
	if t.PkgPath() == "" && t.Kind() != reflect.Struct {
		// Predeclared and unnamed non-struct types have no methods (an
		// unnamed struct can promote methods of embedded fields).
		return 0
	}
	if k, ok := marshalerCache.Load(t); ok {
		return k.(int) &^ marshalerKnown
	}
	k := marshalerKnown
	pt := reflect.PointerTo(t)
	if t.Implements(jsonMarshalerType) {
		k |= jsonMarshaler
	}
	if t.Implements(textMarshalerType) {
		k |= textMarshaler
	}
	if pt.Implements(jsonMarshalerType) {
		k |= ptrJSONMarshaler
	}
	if pt.Implements(textMarshalerType) {
		k |= ptrTextMarshaler
	}
	marshalerCache.Store(t, k)
	return k &^ marshalerKnown
}

func (w *Writer) arrayValue(v reflect.Value, depth int) error {
	n := v.Len()
	w.BeginArray(n)
	for i := range n {
		if err := w.reflectValue(v.Index(i), depth+1); err != nil {
			return err
		}
	}
	w.EndArray()
	return nil
}

func (w *Writer) mapValue(v reflect.Value, depth int) error {
	type entry struct {
		key string
		val reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	iter := v.MapRange()
	for iter.Next() {
		k, err := mapKeyString(iter.Key())
		if err != nil {
			return err
		}
		entries = append(entries, entry{k, iter.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	w.BeginObject(len(entries))
	for _, e := range entries {
		w.Key(e.key)
		if err := w.reflectValue(e.val, depth+1); err != nil {
			return err
		}
	}
	w.EndObject()
	return nil
}

// mapKeyString applies encoding/json's rules for map keys.
func mapKeyString(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String && !k.Type().Implements(textMarshalerType) {
		return k.String(), nil
	}
	if k.Type().Implements(textMarshalerType) {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		b, err := k.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return "", errorf(ErrUnsupportedValue, "map key: %w", err)
		}
		return string(b), nil
	}
	switch k.Kind() {
	case reflect.String:
		return k.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", errorf(ErrUnsupportedValue, "map key type %s", k.Type())
}

func (w *Writer) marshalerValue(v reflect.Value, depth int) error {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		w.Null()
		return nil
	}
	b, err := v.Interface().(json.Marshaler).MarshalJSON()
	if err != nil {
		return errorf(ErrUnsupportedValue, "MarshalJSON of %s: %w", v.Type(), err)
	}
	return w.rawJSON(b, depth)
}

func (w *Writer) textMarshalerValue(v reflect.Value) error {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		w.Null()
		return nil
	}
	b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
	if err != nil {
		return errorf(ErrUnsupportedValue, "MarshalText of %s: %w", v.Type(), err)
	}
	w.Str(string(b))
	return nil
}

func (w *Writer) structValue(v reflect.Value, depth int) error {
	sf := cachedFields(v.Type())
	fields := sf.fields
	// msgpack needs the count in the header: count the fields that will be
	// written first, unless none can be left out.
	n := len(fields)
	if sf.mayOmit {
		n = 0
		for i := range fields {
			if fv, ok := fields[i].get(v); ok && !fields[i].omit(fv) {
				n++
			}
		}
	}
	w.BeginObject(n)
	for i := range fields {
		f := &fields[i]
		fv, ok := f.get(v)
		if !ok || f.omit(fv) {
			continue
		}
		w.rawKey(f)
		if f.quoted {
			if err := w.quotedValue(fv); err != nil {
				return err
			}
			continue
		}
		if err := w.reflectValueKind(fv, depth+1, f.marshalerKind); err != nil {
			return err
		}
	}
	w.EndObject()
	return nil
}

// quotedValue implements the ",string" option: scalars become strings.
// rawKey writes a struct field's precomputed key.
func (w *Writer) rawKey(f *field) {
	if w.json {
		w.sep()
		w.buf = append(w.buf, f.jsonKey...)
		w.needComma = false
		return
	}
	w.buf = append(w.buf, f.msgpackKey...)
}

func (w *Writer) quotedValue(v reflect.Value) error {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			w.Null()
			return nil
		}
		v = v.Elem()
	}
	var tmp [64]byte
	switch v.Kind() {
	case reflect.Bool:
		w.Str(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.Str(string(strconv.AppendInt(tmp[:0], v.Int(), 10)))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		w.Str(string(strconv.AppendUint(tmp[:0], v.Uint(), 10)))
	case reflect.Float32, reflect.Float64:
		bits := 64
		if v.Kind() == reflect.Float32 {
			bits = 32
		}
		w.Str(strconv.FormatFloat(v.Float(), 'g', -1, bits))
	case reflect.String:
		w.Str(string(appendJSONString(tmp[:0], v.String())))
	default:
		return w.reflectValue(v, 0)
	}
	return nil
}

// field is one encodable struct field, resolved as encoding/json does.
type field struct {
	name      string
	index     []int
	omitEmpty bool
	omitZero  bool
	quoted    bool
	isZero    func(reflect.Value) bool // IsZero method for omitzero, if any
	// msgpackKey and jsonKey are the encoded key, computed once.
	msgpackKey, jsonKey []byte
	// marshalerKind is marshalerKindOf the field's static type, or -1
	// for interface fields (whose dynamic type decides).
	marshalerKind int
}

// structFields is the cached encoding plan of a struct type.
type structFields struct {
	fields []field
	// mayOmit is set when some field can be left out (omitempty,
	// omitzero, or reached through an embedded pointer that may be nil).
	mayOmit bool
}

// get follows the index path; ok is false when an embedded pointer is nil.
func (f *field) get(v reflect.Value) (reflect.Value, bool) {
	for i, x := range f.index {
		if i > 0 {
			if v.Kind() == reflect.Pointer {
				if v.IsNil() {
					return reflect.Value{}, false
				}
				v = v.Elem()
			}
		}
		v = v.Field(x)
	}
	return v, true
}

func (f *field) omit(v reflect.Value) bool {
	if f.omitEmpty && isEmptyValue(v) {
		return true
	}
	if f.omitZero {
		if f.isZero != nil {
			return f.isZero(v)
		}
		return v.IsZero()
	}
	return false
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

var fieldCache sync.Map // reflect.Type -> *structFields

func cachedFields(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	fields := typeFields(t)
	sf := &structFields{fields: fields}
	for i := range fields {
		f := &fields[i]
		ft := t.FieldByIndex(f.index[:1]).Type
		if len(f.index) > 1 {
			sf.mayOmit = true // embedded path: a nil embedded pointer hides the field
			ft = fieldTypeByIndex(t, f.index)
		}
		if f.omitEmpty || f.omitZero {
			sf.mayOmit = true
		}
		mw := Writer{}
		mw.Key(f.name)
		jw := Writer{json: true}
		jw.Key(f.name)
		f.msgpackKey, f.jsonKey = mw.buf, jw.buf
		f.marshalerKind = -1
		if ft.Kind() != reflect.Interface {
			f.marshalerKind = marshalerKindOf(ft)
		}
	}
	v, _ := fieldCache.LoadOrStore(t, sf)
	return v.(*structFields)
}

// fieldTypeByIndex follows an index path through embedded (pointer) fields.
func fieldTypeByIndex(t reflect.Type, index []int) reflect.Type {
	for i, x := range index {
		if i > 0 && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		t = t.Field(x).Type
	}
	return t
}

// typeFields lists the fields encoding/json would encode for struct type t,
// in its order, with its rules for embedded structs: the shallowest field of
// a name wins, a tagged one breaks a tie at the same depth, and a remaining
// tie hides the name altogether.
func typeFields(t reflect.Type) []field {
	type candidate struct {
		field
		depth  int
		tagged bool
	}
	var all []candidate
	type queued struct {
		t     reflect.Type
		index []int
	}
	current := []queued{{t, nil}}
	visited := map[reflect.Type]bool{}
	for depth := 0; len(current) > 0; depth++ {
		var next []queued
		for _, q := range current {
			if visited[q.t] {
				continue
			}
			visited[q.t] = true
			for i := range q.t.NumField() {
				sf := q.t.Field(i)
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				index := append(slices.Clone(q.index), i)
				ft := sf.Type
				if sf.Anonymous {
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
					if name == "" && ft.Kind() == reflect.Struct {
						next = append(next, queued{ft, index})
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tagged := name != ""
				if name == "" {
					name = sf.Name
				}
				c := candidate{field: field{name: name, index: index}, depth: depth, tagged: tagged}
				for o := range strings.SplitSeq(opts, ",") {
					switch o {
					case "omitempty":
						c.omitEmpty = true
					case "omitzero":
						c.omitZero = true
						c.isZero = isZeroFunc(sf.Type)
					case "string":
						switch ft.Kind() {
						case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
							reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
							reflect.Float32, reflect.Float64, reflect.String:
							c.quoted = true
						}
					}
				}
				all = append(all, c)
			}
		}
		current = next
	}
	// Resolve names: keep, for each name, the dominant candidate.
	byName := map[string][]int{}
	for i, c := range all {
		byName[c.name] = append(byName[c.name], i)
	}
	var out []candidate
	seen := map[string]bool{}
	for _, c := range all {
		if seen[c.name] {
			continue
		}
		seen[c.name] = true
		idx := byName[c.name]
		minDepth := all[idx[0]].depth
		for _, j := range idx {
			minDepth = min(minDepth, all[j].depth)
		}
		var dominant, taggedIdx []int
		for _, j := range idx {
			if all[j].depth == minDepth {
				dominant = append(dominant, j)
				if all[j].tagged {
					taggedIdx = append(taggedIdx, j)
				}
			}
		}
		switch {
		case len(dominant) == 1:
			out = append(out, all[dominant[0]])
		case len(taggedIdx) == 1:
			out = append(out, all[taggedIdx[0]])
		}
	}
	// encoding/json orders fields by index sequence.
	slices.SortStableFunc(out, func(a, b candidate) int { return slices.Compare(a.index, b.index) })
	fields := make([]field, len(out))
	for i, c := range out {
		fields[i] = c.field
	}
	return fields
}

func isZeroFunc(t reflect.Type) func(reflect.Value) bool {
	type isZeroer interface{ IsZero() bool }
	zt := reflect.TypeFor[isZeroer]()
	switch {
	case t.Kind() == reflect.Pointer && t.Implements(zt):
		return func(v reflect.Value) bool { return v.IsNil() || v.Interface().(isZeroer).IsZero() }
	case t.Implements(zt):
		return func(v reflect.Value) bool { return v.Interface().(isZeroer).IsZero() }
	case reflect.PointerTo(t).Implements(zt):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				c := reflect.New(t).Elem()
				c.Set(v)
				v = c
			}
			return v.Addr().Interface().(isZeroer).IsZero()
		}
	}
	return nil
}

// AppendMsgpack appends v as msgpack, as notepack.io writes the same JavaScript value (the values this package
// accepts, with its rules for Go types).
func AppendMsgpack(dst []byte, v any) ([]byte, error) {
	w := Writer{buf: dst}
	if err := w.value(v, 0); err != nil {
		return dst, err
	}
	return w.buf, nil
}

// placeholder writes the placeholder of the next attachment, with the key
// order of socket.io-parser ({ _placeholder: true, num }).
func (w *Writer) placeholder(p []byte) {
	w.sep()
	w.buf = append(w.buf, `{"_placeholder":true,"num":`...)
	w.buf = strconv.AppendInt(w.buf, int64(w.binaries), 10)
	w.buf = append(w.buf, '}')
	w.needComma = true
	w.binaries++
	w.attachments = append(w.attachments, p)
}

// AppendJSON appends v as JSON, exactly as JSON.stringify writes the same
// JavaScript value. Binary data cannot be written: it returns ErrBinaryInJSON
// (a PlaceholderWriter writes binary as socket.io-parser does).
func AppendJSON(dst []byte, v any) ([]byte, error) {
	w := JSONWriter(dst)
	if err := w.value(v, 0); err != nil {
		return dst, err
	}
	return w.buf, nil
}
