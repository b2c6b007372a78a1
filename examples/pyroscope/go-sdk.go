// go-sdk.go — the Grafana Pyroscope Go SDK (github.com/grafana/pyroscope-go) pointed at
// otelprofd: only ServerAddress changes from a Pyroscope or Grafana Cloud setup. The SDK
// pushes multipart pprof (part "profile") to POST /ingest every 15 s; name "checkout" with
// the tags below; AuthToken / TenantID are sent and accepted (the tenant becomes the label
// "tenant"). Run it with `go run go-sdk.go` in a module that requires pyroscope-go.
//go:build ignore

package main

import (
	"os"
	"time"

	"github.com/grafana/pyroscope-go"
)

func main() {
	_, err := pyroscope.Start(pyroscope.Config{
		ApplicationName: "checkout",
		ServerAddress:   "http://127.0.0.1:4318", // otelprofd's OTLP/HTTP listener
		TenantID:        os.Getenv("PYROSCOPE_TENANT_ID"), // optional: X-Scope-OrgID
		Tags:            map[string]string{"region": "eu-west", "version": "1.2.3"},
		ProfileTypes: []pyroscope.ProfileType{
			pyroscope.ProfileCPU,
			pyroscope.ProfileAllocObjects, pyroscope.ProfileAllocSpace,
			pyroscope.ProfileInuseObjects, pyroscope.ProfileInuseSpace,
		},
		UploadRate: 15 * time.Second,
	})
	if err != nil {
		panic(err)
	}
	for { // the service's work
		time.Sleep(time.Second)
	}
}
