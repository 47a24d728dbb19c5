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

func (o Object) set(key string, v any) Object {
	for i := range o {
		if o[i].Key == key {
			o[i].Value = v
			return o
		}
	}
	return append(o, Member{Key: key, Value: v})
}
