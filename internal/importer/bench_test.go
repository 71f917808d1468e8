package importer_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/importer"
	"github.com/tendhq/tend/internal/store/sqlite"
	"github.com/tendhq/tend/internal/team"
)

// bookCSV writes a realistic book of business of n accounts: every
// standard column, owners by email, the three segments of 004 with their
// programs, and three traits of different sources.
func bookCSV(n int, users []team.User) string {
	rng := rand.New(rand.NewPCG(7, 11))
	var tas, aes, ces []string
	for _, u := range users {
		switch u.Role {
		case team.TA:
			tas = append(tas, u.Email)
		case team.AE:
			aes = append(aes, u.Email)
		case team.CE:
			ces = append(ces, u.Email)
		}
	}
	words := []string{"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Cyberdyne",
		"Soylent", "Wonka", "Gringotts", "Oscorp", "Aperture", "Massive", "Dynamic", "Pied Piper", "Nakatomi", "Monarch"}
	suffixes := []string{"Corp", "Inc", "Labs", "Systems", "Group", "Holdings", "Technologies", "AG", "GmbH", "Ltd"}
	stages := []string{"0. Prospect", "1. Onboarding", "2. Adopting", "3. Nurturing", "4. Renewing"}
	ents := []string{"code_search", "ai_assistant", "code_search;ai_assistant"}
	pulses := []string{"Healthy", "Concerning", "Poor", ""}
	regions := []string{"AMER", "EMEA", "APAC"}

	var b strings.Builder
	b.WriteString("external_id,name,domain,analytics_id,estimated_developers,arr,seats,support_level,owner_email,ae_email,ce_email," +
		"expected_close_date,close_date,renewal_date,entitlements,deployment,segment,program,stage,ta_pulse,versions_behind,crm_region\n")
	for i := range n {
		devs := []int{rng.IntN(1500), 1500 + rng.IntN(8500), 10000 + rng.IntN(40000)}[rng.IntN(3)]
		segment := "Commercial"
		switch {
		case devs >= 10000:
			segment = "Strategic"
		case devs >= 1500:
			segment = "Enterprise"
		}
		arr := 5000 + rng.IntN(200)*1000
		program, level := "Managed", "managed"
		if segment == "Commercial" && arr < 50000 {
			program, level = "Scaled Success", "scaled"
		}
		closeDay := 1 + rng.IntN(28)
		closeMonth := 1 + rng.IntN(12)
		deployment := "cloud"
		if rng.IntN(4) == 0 {
			deployment = "self_hosted"
		}
		name := fmt.Sprintf("%s %s %d", words[rng.IntN(len(words))], suffixes[rng.IntN(len(suffixes))], i)
		fmt.Fprintf(&b, "0015e%010d,%s,%s.example.com,grp_%06d,%d,\"$%d,%03d\",%d,%s,%s,%s,%s,"+
			"2025-%02d-%02d,2025-%02d-%02d,2026-%02d-%02d,%s,%s,%s,%s,%s,%s,%d,%s\n",
			i, name, strings.ToLower(strings.ReplaceAll(name, " ", "-")), i, devs, arr/1000, arr%1000, 10+devs/5, level,
			tas[rng.IntN(len(tas))], aes[rng.IntN(len(aes))], ces[rng.IntN(len(ces))],
			closeMonth, closeDay, closeMonth, closeDay, closeMonth, closeDay,
			ents[rng.IntN(len(ents))], deployment, segment, program, stages[rng.IntN(len(stages))],
			pulses[rng.IntN(len(pulses))], rng.IntN(8), regions[rng.IntN(len(regions))])
	}
	return b.String()
}

func benchUsers() []team.User {
	var us []team.User
	for i := range 12 {
		us = append(us, team.User{Email: fmt.Sprintf("ta%d@tend.test", i), Name: fmt.Sprintf("TA %d", i), Role: team.TA})
	}
	for i := range 6 {
		us = append(us, team.User{Email: fmt.Sprintf("ae%d@tend.test", i), Name: fmt.Sprintf("AE %d", i), Role: team.AE})
	}
	for i := range 4 {
		us = append(us, team.User{Email: fmt.Sprintf("ce%d@tend.test", i), Name: fmt.Sprintf("CE %d", i), Role: team.CE})
	}
	return us
}

// BenchmarkImportAccounts10k imports 10,000 accounts with their traits
// into a fresh SQLite file, the way `tend import accounts` does on a new
// install (issue 2: under 5 s on the 2-core machine).
func BenchmarkImportAccounts10k(b *testing.B) {
	benchImport(b, false)
}

// BenchmarkReimportAccounts10k imports the same 10,000 accounts a second
// time: every row is read back and compared, nothing is written.
func BenchmarkReimportAccounts10k(b *testing.B) {
	benchImport(b, true)
}

func benchImport(b *testing.B, again bool) {
	ctx := context.Background()
	users := benchUsers()
	file := bookCSV(10000, users)
	ws := testWorkspace()
	b.SetBytes(int64(len(file)))
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), fmt.Sprintf("tend-%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		for _, u := range users {
			if err := st.CreateUser(ctx, &u); err != nil {
				b.Fatal(err)
			}
		}
		if again {
			if _, err := importer.Run(ctx, st, ws, importer.Accounts, strings.NewReader(file), importer.Options{FileName: "book.csv"}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		rep, err := importer.Run(ctx, st, ws, importer.Accounts, strings.NewReader(file), importer.Options{FileName: "book.csv"})
		if err != nil {
			b.Fatalf("%v\n%v", err, rep.Invalid[:min(5, len(rep.Invalid))])
		}
		if again && rep.Unchanged != 10000 || !again && rep.Created != 10000 {
			b.Fatalf("report %+v", rep)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
}
