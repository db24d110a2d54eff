module github.com/mamori-dev/mamori

go 1.26.8

require (
	github.com/defenseunicorns/go-oscal v0.7.0
	github.com/goccy/go-yaml v1.19.2
	github.com/google/uuid v1.6.0
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
)

require golang.org/x/text v0.43.0 // indirect
