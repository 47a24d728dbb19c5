package jsvalue

// Object is a map whose keys keep their order on the wire, as the keys of a
// JavaScript object do. Plain Go maps are written with sorted keys.
type Object []Member

// Member is one key and value of an Object.
type Member struct {
	Key   string
	Value any
}

// MarshalJSON writes o as a JSON object with its keys in order.
func (o Object) MarshalJSON() ([]byte, error) {
	w := Writer{json: true}
	if err := w.value(o, 0); err != nil {
		return nil, err
	}
	return w.buf, nil
}

// UnmarshalJSON decodes a JSON object into o as DecodeJSONOrdered decodes it: members in their order (a duplicate
// key keeps its first place and takes the last value), nested objects as Object, integers as int64. JSON null
// leaves o as it is; anything else but an object is an error wrapping ErrMalformed.
func (o *Object) UnmarshalJSON(b []byte) error {
	v, err := DecodeJSONOrdered(b)
	if err != nil {
		return err
	}
	switch x := v.(type) {
	case Object:
		*o = x
		return nil
	case nil:
		return nil
	}
	return errorf(ErrMalformed, "not a JSON object")
}

// objectBuilder collects the members of an Object as a JavaScript object gets them: a duplicate key keeps its
// first place and takes the last value. Past indexFrom members it keeps an index of the keys, so that building an
// object of n members costs O(n) and not O(n²) (a 1 MB message can hold 100 000 keys).
type objectBuilder struct {
	o     Object
	index map[string]int
}

const indexFrom = 16

func (b *objectBuilder) set(key string, v any) {
	if b.index != nil {
		if i, ok := b.index[key]; ok {
			b.o[i].Value = v
			return
		}
		b.index[key] = len(b.o)
		b.o = append(b.o, Member{Key: key, Value: v})
		return
	}
	for i := range b.o {
		if b.o[i].Key == key {
			b.o[i].Value = v
			return
		}
	}
	b.o = append(b.o, Member{Key: key, Value: v})
	if len(b.o) > indexFrom {
		b.index = make(map[string]int, 2*len(b.o))
		for i, m := range b.o {
			b.index[m.Key] = i
		}
	}
}
