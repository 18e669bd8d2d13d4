package balance_test

import (
	"fmt"

	"tailgate/targets/balance"
)

func ExampleNew() {
	eps, err := balance.ParseEndpoints("10.0.0.1:80=5,10.0.0.2:80,10.0.0.3:80")
	if err != nil {
		panic(err)
	}
	b, err := balance.New("weighted", eps, balance.Options{})
	if err != nil {
		panic(err)
	}
	for range 7 {
		i := b.Pick(0)
		fmt.Print(eps[i].Addr[7:], " ") // the last octet and port
		b.Done(i)
	}
	fmt.Println()
	// Output: 1:80 1:80 2:80 1:80 3:80 1:80 1:80
}

func ExampleKeysMoved() {
	eps, err := balance.ParseEndpoints("a:1,b:1,c:1,d:1,e:1,f:1,g:1,h:1,i:1,j:1")
	if err != nil {
		panic(err)
	}
	for _, s := range []string{"jump", "mod"} {
		f, err := balance.KeysMoved(s, eps, 4, 100000, balance.Options{})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %.0f%% of keys moved\n", s, 100*f)
	}
	// Output:
	// jump: 10% of keys moved
	// mod: 90% of keys moved
}

func ExampleLoad() {
	s := balance.Load([]int64{90, 110, 100, 100})
	fmt.Printf("mean %.0f, max/mean %.2f, CV %.3f\n", s.Mean, s.Imbalance, s.CV)
	// Output: mean 100, max/mean 1.10, CV 0.071
}
