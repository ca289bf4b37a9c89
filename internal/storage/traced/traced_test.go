package traced

import (
	"context"
	"reflect"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// fake answers ErrNotFound to the calls the test names and panics on the
// others (its embedded Storage is nil): the wrapper's span ends either way.
type fake struct{ storage.Storage }

func (fake) GetClient(context.Context, string) (storage.Client, error) {
	return storage.Client{}, storage.ErrNotFound
}

func TestOffReturnsTheStoreItself(t *testing.T) {
	var st storage.Storage = fake{}
	if New(st, nil) != st || New(st, noop.NewTracerProvider()) != st {
		t.Fatal("with tracing off the store must not be wrapped")
	}
}

// TestEveryMethodIsTraced calls every method of storage.Storage through the
// wrapper and expects one span named after it: a method added to the
// interface and not to Store fails here.
func TestEveryMethodIsTraced(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	st := New(fake{}, tp)
	v := reflect.ValueOf(st)
	it := reflect.TypeFor[storage.Storage]()
	for i := range it.NumMethod() {
		m := it.Method(i)
		if m.Name == "Close" {
			continue
		}
		exp.Reset()
		ft := m.Type
		args := make([]reflect.Value, 0, ft.NumIn())
		for j := range ft.NumIn() {
			if ft.IsVariadic() && j == ft.NumIn()-1 {
				break
			}
			if ft.In(j) == reflect.TypeFor[context.Context]() {
				args = append(args, reflect.ValueOf(context.Background()))
				continue
			}
			args = append(args, reflect.Zero(ft.In(j)))
		}
		func() {
			defer func() { recover() }() // the fake's nil Storage panics
			v.MethodByName(m.Name).Call(args)
		}()
		spans := exp.GetSpans()
		if len(spans) != 1 || spans[0].Name != "storage."+m.Name {
			t.Errorf("%s: spans %v, want one storage.%s", m.Name, names(spans), m.Name)
		}
	}
}

func TestErrorKindNotText(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	st := New(fake{}, sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	if _, err := st.GetClient(context.Background(), "c1"); err != storage.ErrNotFound {
		t.Fatalf("error %v, want the inner store's", err)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("spans %v", names(spans))
	}
	s := spans[0]
	if s.Status.Description != "not_found" {
		t.Errorf("status %+v, want not_found", s.Status)
	}
	found := false
	for _, a := range s.Attributes {
		if a.Key == "error.type" && a.Value.AsString() == "not_found" {
			found = true
		}
	}
	if !found {
		t.Errorf("attributes %v lack error.type=not_found", s.Attributes)
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
