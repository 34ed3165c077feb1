package api

import (
	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// traceRoute names the request's span, when tracing records one, after
// the route it matched ("PUT /api/v1/scim/groups/:id/entry-points"), not
// its path: ids stay out of span names. The request id is added so that a
// trace and the access log line find each other.
func traceRoute(c *gin.Context) {
	if span := trace.SpanFromContext(c.Request.Context()); span.IsRecording() {
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		span.SetName(c.Request.Method + " " + route)
		span.SetAttributes(attribute.String("http.route", route), attribute.String("scimflow.request_id", c.GetString(requestIDKey)))
	}
	c.Next()
}
