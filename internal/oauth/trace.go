package oauth

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
)

// traceCheck starts the "password.check" span of one pool.do, which covers
// the wait for a worker and the hash. It returns fn wrapped to record the
// wait when the worker is had, and the function that ends the span with
// do's outcome. Only called with tracing on (pool.tracer set).
func (p *pool) traceCheck(ctx context.Context, fn func(queued bool)) (func(queued bool), func(error)) {
	start := time.Now()
	_, span := p.tracer.Start(ctx, "password.check")
	started := false
	wrapped := func(queued bool) {
		started = true
		span.SetAttributes(waitMS(start), attribute.Bool("latchkey.password.queued", queued))
		fn(queued)
	}
	end := func(err error) {
		if !started { // refused or given up while waiting: the whole span was the wait
			span.SetAttributes(waitMS(start))
		}
		if err != nil {
			kind := "canceled"
			if errors.Is(err, errBusy) {
				kind = "pool_full"
			}
			span.SetAttributes(attribute.String("error.type", kind))
			span.SetStatus(codes.Error, kind)
		}
		span.End()
	}
	return wrapped, end
}

func waitMS(start time.Time) attribute.KeyValue {
	return attribute.Float64("latchkey.password.queue_wait_ms", float64(time.Since(start).Microseconds())/1000)
}
