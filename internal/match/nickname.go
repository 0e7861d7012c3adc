package match

import (
	"sort"
	"strings"
)

// nicknameTable lists English given names with the nicknames and spelling
// variants registries write instead of them, one formal name a line. It
// follows the common tables of genealogy and record-linkage practice (the
// nickname lists of the U.S. Census Bureau's name-matching work and of
// genealogical societies); a nickname may belong to several names (Pat to
// Patrick and Patricia, Alex to Alexander and Alexandra). Names that are
// given in their own right and often to siblings (Mary and Maria, Lisa and
// Elizabeth, Liam and William) are deliberately not listed as variants of
// one another: twins are named so.
const nicknameTable = `
aaron: ron ronnie
abigail: abby abbie gail
abraham: abe bram
adam: ade
adrian: ade
agnes: aggie nessa
albert: al bert bertie
alexander: al alex alec alexis lex sandy xander
alexandra: alex alexa sandy lexi
alejandro: alex ale
alfred: al alf alfie fred freddie
alice: allie ally elsie
allison: allie ally alison alyson
amanda: mandy manda
andrea: andi andie
andrew: andy drew
angela: angie angel
anna: ann anne annie nan
anthony: tony ant antony
antonio: tony toni
arthur: art artie
barbara: barb barbie babs bobbie
benjamin: ben benji benny
bernard: bernie barney
beverly: bev
bradley: brad
brandon: bran
brenda: bren
bridget: biddy bridie
caroline: carrie lina
catherine: cathy cat kate katie kathy kay cate kitty katherine kathryn
charles: charlie chuck chas chaz chip
charlotte: charlie lottie lotte
christina: chris christy tina kristina
christine: chris chrissy tina christy kristine
christopher: chris kit topher kris
clarence: clare
cynthia: cindy cyndi
daniel: dan danny
danielle: dani
david: dave davy
deborah: deb debbie debby debra
dennis: denny
dolores: lola dee
donald: don donnie
dorothy: dot dottie dolly dora
douglas: doug
edward: ed eddie ted teddy ned
eleanor: ellie nora elle ella nell
elizabeth: liz lizzie beth betty betsy bess bessie eliza libby
emily: em emmy millie
eugene: gene
evelyn: evie eve
frances: fran fanny frannie
francis: frank frankie fran
franklin: frank frankie
francisco: paco pancho frank
frederick: fred freddie freddy fritz
gabriel: gabe
gabrielle: gabby gabi
gerald: gerry jerry
geraldine: gerri geri
gregory: greg
guadalupe: lupe lupita
harold: hal harry
harriet: hattie
helen: nell nellie lena
henry: hank harry hal
herbert: herb bert
howard: howie
isabella: bella izzy isabel belle
ignacio: nacho
isaac: ike
jacob: jake jack
james: jim jimmy jamie jimbo
janet: jan
jeffrey: jeff geoff geoffrey
jennifer: jen jenny jenn jennie
jeremy: jerry jeremiah
jerome: jerry
jesus: chuy
jessica: jess jessie
joan: joanie
john: jack johnny jon jonny
jonathan: jon jonny
jose: pepe chepe
joseph: joe joey
josephine: jo josie
joshua: josh
judith: judy jude
julia: julie
katherine: kate kathy katie kat kay kit
kathleen: kathy kath kay
kenneth: ken kenny
kimberly: kim kimmy
lawrence: larry laurie
leonard: leo len lenny
lillian: lily lil
louis: lou
louise: lou lulu
lucille: lucy
margaret: peggy maggie meg marge margie madge greta daisy
martha: marty mattie patsy
martin: marty
mary: molly polly mae mamie
matthew: matt matty
melissa: mel missy
michael: mike mikey mick mickey
miguel: mike
mildred: millie
mitchell: mitch
nancy: nan
natalie: nat
nathaniel: nate nat nathan
nicholas: nick nicky nico
nicole: nicki nikki
pamela: pam
patricia: pat patty patti trish tricia
patrick: pat paddy
peter: pete
philip: phil
rachel: rae
raymond: ray
rebecca: becky becca
richard: rich rick ricky dick richie
robert: bob bobby rob robbie bert
rodney: rod
ronald: ron ronnie
rosemary: rose rosie
samantha: sam sammy
samuel: sam sammy
sandra: sandy sandi
sarah: sally sadie sara
sharon: shari
stanley: stan
stephanie: steph stevie
stephen: steve stevie steven
steven: steve stevie stephen
susan: sue susie suzy
sylvia: syl
teresa: terry tess tessa theresa
theodore: ted teddy theo
theresa: terry tess tessa teresa
thomas: tom tommy thom
timothy: tim timmy
valerie: val
victor: vic
victoria: vicky vicki tori
vincent: vince vinny
virginia: ginny ginger
walter: walt wally
william: bill billy will willie
zachary: zach zack
`

// givenNames are common given names with no nickname in nicknameTable,
// listed so that the comparator knows them as names: two different known
// names are two names, not a typo or a spelling of one (Mary and Maria,
// Jon and Jan).
const givenNames = `
aisha abena aiden alan alicia alyssa amber amy andre angel angelica ann anne april ashley
austin autumn ava bailey beatriz blake bonnie brian brianna brittany brooke bruce bryan caleb
cameron candace carl carla carlos carmen carol carolyn cecilia chad chelsea cheryl chloe clara
claudia colin connie courtney craig crystal dale dana darren dawn dean derek diana diane diego
dylan eduardo elena elijah ella emma eric erica erin esther ethan eva evan faith fatima felix
fernando gail gary gavin gina glen glenn gloria grace grant hannah hazel heather hector hiroshi
holly hugo ian irene iris ivan jack jacqueline jade jaime jan jana jane janice jared jasmine
jason javier jean jeanne jenna jesse jill joanna joel jordan jorge joyce juan juanita julian
june justin kai karen karl kayla keith kelly kendra kevin kim kirsten kristen kwame kyle lan
laura lauren leah lee leslie liam lily linda lisa logan lois lorena lorraine lucas luis luke
lydia lynn madison marcus maria marie marilyn mario marisol marjorie mark marlene martina mason
mateo maureen maya megan mei melanie mia miguel minh miranda mohammed monica morgan muhammad
nadia naomi natasha neil nina noah nora norma olivia omar oscar paige paula pedro peggy
priya rafael raj ralph ramon randy raul regina renee ricardo rita roberto rodrigo roger
rosa ross roy ruby russell ruth ryan sabrina sally sandra scott sean sergio seth shane shannon
sharon sheila shirley sierra simon sofia sonia sophia spencer stacy stella sue summer tanya
tara terrence tiffany todd tracy travis trevor troy tyler vanessa vera veronica vivian wade
wanda wayne wei wendy whitney yolanda yuki yvonne
`

// nicknames is the table read into maps: from each name to the formal names
// it stands for (a formal name stands for itself), and from each formal name
// to every name of its line, all sorted.
type nicknames struct {
	formals  map[string][]string
	variants map[string][]string
	// deletions maps each known name, and each of its forms with one letter
	// left out, to the known names it comes from: the symmetric-delete index
	// that finds the known names one edit away from a misspelt one.
	deletions map[string][]string
}

// newNicknames reads a table in the format of nicknameTable, and names
// (separated by white space) that stand only for themselves. Names are folded.
func newNicknames(table, names string) nicknames {
	n := nicknames{formals: map[string][]string{}, variants: map[string][]string{}, deletions: map[string][]string{}}
	add := func(name, formal string) {
		if !contains(n.formals[name], formal) {
			n.formals[name] = append(n.formals[name], formal)
		}
		if !contains(n.variants[formal], name) {
			n.variants[formal] = append(n.variants[formal], name)
		}
	}
	for _, line := range strings.Split(table, "\n") {
		formal, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		formal = foldText(formal)
		add(formal, formal)
		for _, nick := range strings.Fields(rest) {
			add(foldText(nick), formal)
		}
	}
	for _, name := range strings.Fields(names) {
		name = foldText(name)
		if len(n.formals[name]) == 0 {
			add(name, name)
		}
	}
	for name := range n.formals {
		for _, d := range deletionsOf(name) {
			if !contains(n.deletions[d], name) {
				n.deletions[d] = append(n.deletions[d], name)
			}
		}
	}
	for _, m := range []map[string][]string{n.formals, n.variants, n.deletions} {
		for k := range m {
			sort.Strings(m[k])
		}
	}
	return n
}

// deletionsOf returns name and every form of it with one letter left out.
func deletionsOf(name string) []string {
	out := []string{name}
	for i := range len(name) {
		out = append(out, name[:i]+name[i+1:])
	}
	return out
}

// nearFormals returns the formal names of the known names one edit away
// from name (an insertion, deletion, substitution or swap of neighbours), for
// a name the table does not know: "Donadl" Donald, "Doon" (by Don) Donald.
func (n nicknames) nearFormals(name string) []string {
	if n.known(name) || len(name) < 3 {
		return nil
	}
	var out []string
	for _, d := range deletionsOf(name) {
		for _, k := range n.deletions[d] {
			if editDistance(k, name, 1) > 1 {
				continue
			}
			for _, f := range n.formals[k] {
				if !contains(out, f) {
					out = append(out, f)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// defaultNicknames is the table the matcher uses. It is read once and never
// changed.
var defaultNicknames = newNicknames(nicknameTable, givenNames)

// formal returns the formal names a folded given name stands for, or nil when
// the table does not know it.
func (n nicknames) formal(name string) []string { return n.formals[name] }

// known reports a name the table lists, as a formal name or a nickname.
func (n nicknames) known(name string) bool { return len(n.formals[name]) > 0 }

// variants returns every name of the lines of the formal names of name,
// without name itself: for Don, Donald and Donnie.
func (n nicknames) variantsOf(name string) []string {
	var out []string
	for _, f := range n.formals[name] {
		for _, v := range n.variants[f] {
			if v != name && !contains(out, v) {
				out = append(out, v)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Nicknames reports whether two given names are the same name by the nickname
// table: one is a nickname or variant of the other, or both stand for one
// formal name (Bill and Will for William). Equal names are not nicknames.
func Nicknames(a, b string) bool {
	a, b = foldText(a), foldText(b)
	return a != b && shareAny(defaultNicknames.formal(a), defaultNicknames.formal(b))
}

// shareAny reports whether two sorted lists have an element in common.
func shareAny(a, b []string) bool {
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			return true
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return false
}
