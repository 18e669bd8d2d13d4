package profiles_test

import (
	"fmt"

	"tailgate/profiles"
)

func ExampleParse() {
	src := `
name: checkout
target: {url: "http://127.0.0.1:8080/item?key={{key}}"}
keys: {dist: zipf, s: 1.1, n: 1000}
fault_targets:
  dep: {kind: demo}
phases:
  - {name: warmup, duration: 5s, rate: 100, warmup: true}
  - {name: ramp, duration: 20s, rate: {ramp: {from: 100, to: 500}}, arrivals: poisson}
  - name: degraded
    duration: 10s
    rate: 500
    faults: [{target: dep, type: latency, toxicity: 0.1, attributes: {latency: 250}}]
`
	p, err := profiles.Parse("checkout.yaml", []byte(src))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %v, mean %.0f req/s\n", p.Name, p.Duration(), p.MeanRate())
	for i, ph := range p.Phases {
		fmt.Printf("  %-8s at %-4v %v\n", ph.Name, p.PhaseStarts()[i], ph.Rate)
	}
	for _, e := range p.FaultEvents() {
		fmt.Println(" ", e, "via", e.Target.API)
	}
	// Output:
	// checkout: 35s, mean 329 req/s
	//   warmup   at 0s   100 req/s
	//   ramp     at 5s   ramp 100→500 req/s
	//   degraded at 25s  500 req/s
	//   25s degraded: apply degraded-dep-latency (latency on dep) via http://127.0.0.1:8080
	//   35s degraded: remove degraded-dep-latency (latency on dep) via http://127.0.0.1:8080
}

func ExampleParse_problems() {
	src := `name: broken
phases:
  - name: a
    duration: 10
    rate: {sine: {mean: 100, amplitude: 150, period: 5s}}
  - name: a
    duration: 5s
    rate: {ramp: {from: 1, to: 2, over: 6s}}
    arival: poisson
`
	_, err := profiles.Parse("broken.yaml", []byte(src))
	fmt.Println(err)
	// Output:
	// broken.yaml:4:15: phases[0].duration: must be a duration with a unit, like "10s", "250ms" or "1m30s" (got "10")
	// broken.yaml:5:41: phases[0].rate.sine.amplitude: amplitude is larger than mean 100: the rate would go negative (got "150")
	// broken.yaml:6:11: phases[1].name: duplicate phase name (also phases[0]) (got "a")
	// broken.yaml:8:41: phases[1].rate.ramp.over: ramp is longer than its phase (5s) (got "6s")
	// broken.yaml:9:5: phases[1].arival: unknown field (did you mean "arrivals"?) (got "arival")
}
