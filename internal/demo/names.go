package demo

// Word lists the book is made of. They are fixed, ordered slices (never
// maps) so that the same seed always draws the same words.

// brands and industries combine into company names ("Cobalt Logistics").
// Every brand is one word, so brand+industry slugs cannot collide.
var brands = []string{
	"Acorn", "Adler", "Alder", "Alpine", "Amber", "Anchor", "Apex", "Arbor", "Argent", "Aspen",
	"Astra", "Atlas", "Aurora", "Avalon", "Azure", "Basalt", "Bayside", "Beacon", "Birch", "Blackwood",
	"Bluefin", "Bluestone", "Boulder", "Bramble", "Brightwater", "Brookline", "Calder", "Cambria", "Canyon", "Capstone",
	"Cardinal", "Cascade", "Cedar", "Celeste", "Chestnut", "Cirrus", "Clearwater", "Cobalt", "Copper", "Coral",
	"Cornerstone", "Crescent", "Crimson", "Cypress", "Delta", "Driftwood", "Eastgate", "Ember", "Emerald", "Evergreen",
	"Fairview", "Falcon", "Fernhill", "Firefly", "Flint", "Foxglove", "Frontier", "Galena", "Garnet", "Glacier",
	"Granite", "Greystone", "Halcyon", "Harbor", "Hawthorne", "Helix", "Heron", "Highland", "Horizon", "Indigo",
	"Ironwood", "Ivory", "Jasper", "Juniper", "Kestrel", "Keystone", "Kingfisher", "Lakeshore", "Larkspur", "Lighthouse",
	"Linden", "Lumen", "Magnolia", "Maple", "Marble", "Meridian", "Mesa", "Midland", "Monarch", "Northwind",
	"Nova", "Oakridge", "Obsidian", "Onyx", "Orchid", "Osprey", "Pacific", "Paragon", "Pebble", "Peregrine",
	"Pinnacle", "Pioneer", "Polaris", "Prairie", "Quartz", "Quill", "Radiant", "Raven", "Redwood", "Ridgeline",
	"Riverside", "Rowan", "Sable", "Saffron", "Sage", "Sequoia", "Sierra", "Silverline", "Solstice", "Sparrow",
	"Spruce", "Starling", "Stonebridge", "Summit", "Sunridge", "Tamarack", "Terra", "Thistle", "Tidewater", "Timber",
	"Topaz", "Trillium", "Tundra", "Upland", "Vanguard", "Vega", "Verdant", "Vertex", "Vista", "Wavecrest",
	"Westbrook", "Willow", "Windward", "Wren", "Zenith", "Zephyr",
}

// industry is the second word of a company name; software-flavoured ones
// often live on .io.
type industry struct {
	word     string
	software bool
}

var industries = []industry{
	{"Aerospace", false}, {"Airlines", false}, {"Analytics", true}, {"Automotive", false}, {"Bank", false},
	{"Bancorp", false}, {"Biotech", false}, {"Brands", false}, {"Capital", false}, {"Cloud", true},
	{"Commerce", true}, {"Communications", false}, {"Data", true}, {"Devices", false}, {"Digital", true},
	{"Dynamics", false}, {"Education", false}, {"Energy", false}, {"Engineering", false}, {"Financial", false},
	{"Foods", false}, {"Foundry", true}, {"Freight", false}, {"Games", true}, {"Genomics", false},
	{"Health", false}, {"Industries", false}, {"Insurance", false}, {"Interactive", true}, {"Labs", true},
	{"Logistics", false}, {"Manufacturing", false}, {"Materials", false}, {"Media", false}, {"Medical", false},
	{"Mobility", true}, {"Motors", false}, {"Networks", true}, {"Outfitters", false}, {"Partners", false},
	{"Payments", true}, {"Pharma", false}, {"Power", false}, {"Realty", false}, {"Retail", false},
	{"Robotics", true}, {"Security", true}, {"Semiconductor", false}, {"Shipping", false}, {"Software", true},
	{"Solutions", true}, {"Studios", true}, {"Systems", true}, {"Technologies", true}, {"Telecom", false},
	{"Therapeutics", false}, {"Travel", false}, {"Utilities", false}, {"Ventures", false}, {"Works", true},
}

// nameVariants extend the name space past brands×industries for very large
// books; the plain name is always used up first.
var nameVariants = []string{"", " Group", " Holdings", " International", " Global"}

// Top-level domains by region, the first one the most common.
var (
	tldsAMER = []string{".com", ".com", ".com", ".com", ".us", ".ca"}
	tldsEMEA = []string{".com", ".com", ".co.uk", ".de", ".fr", ".nl", ".eu", ".se"}
	tldsAPAC = []string{".com", ".com", ".com.au", ".co.jp", ".sg", ".in", ".co.nz"}
)

var firstNames = []string{
	"Aaliyah", "Aaron", "Adaeze", "Adrian", "Aisha", "Akira", "Alejandro", "Amara", "Amelia", "Ana",
	"Andre", "Anika", "Arjun", "Beatriz", "Ben", "Camila", "Carlos", "Chloe", "Chidi", "Claire",
	"Daniel", "Daria", "David", "Deepa", "Diego", "Elif", "Elena", "Emeka", "Emily", "Emma",
	"Ethan", "Fatima", "Felix", "Freya", "Gabriel", "Grace", "Hana", "Hassan", "Henrik", "Hiroshi",
	"Ines", "Isaac", "Ivan", "Jack", "Jana", "Javier", "Jin", "Joao", "Jonas", "Julia",
	"Kai", "Karin", "Kavya", "Kwame", "Laila", "Lars", "Leah", "Leon", "Lucas", "Lucia",
	"Mai", "Marco", "Maria", "Mariam", "Mark", "Mateo", "Mei", "Mia", "Mohammed", "Nadia",
	"Naledi", "Nathan", "Neha", "Nikolai", "Noor", "Olivia", "Omar", "Oskar", "Paul", "Pooja",
	"Rachel", "Rafael", "Rahul", "Ravi", "Rosa", "Ryan", "Sakura", "Samir", "Sara", "Sean",
	"Sofia", "Sunil", "Tariq", "Thomas", "Tomas", "Valentina", "Victor", "Wei", "Yara", "Yusuf",
	"Zainab", "Zoe",
}

var lastNames = []string{
	"Abara", "Adeyemi", "Ahmed", "Almeida", "Andersen", "Bauer", "Becker", "Bianchi", "Brennan", "Carter",
	"Castillo", "Chang", "Chen", "Choi", "Costa", "Dasgupta", "Dubois", "Eriksson", "Fernandez", "Fischer",
	"Fitzgerald", "Garcia", "Gomez", "Gupta", "Hansen", "Harris", "Hoffmann", "Huang", "Ibrahim", "Ito",
	"Iyer", "Jansen", "Jensen", "Johnson", "Kaur", "Kim", "Kowalski", "Kumar", "Larsen", "Laurent",
	"Lee", "Lindgren", "Lopez", "Martin", "Mendes", "Meyer", "Miller", "Mitchell", "Morales", "Muller",
	"Murphy", "Nakamura", "Nguyen", "Novak", "Nowak", "Obi", "Okafor", "Okonkwo", "Olsen", "Ortiz",
	"Park", "Patel", "Petrov", "Quinn", "Ramirez", "Rao", "Reyes", "Richter", "Rivera", "Romano",
	"Rossi", "Russo", "Sanchez", "Santos", "Sato", "Schmidt", "Schneider", "Shah", "Silva", "Singh",
	"Sokolov", "Suzuki", "Tanaka", "Taylor", "Thompson", "Torres", "Tran", "Varga", "Vasquez", "Wagner",
	"Walsh", "Wang", "Watanabe", "Weber", "Williams", "Wilson", "Wong", "Yamamoto", "Yilmaz", "Zhang",
}

// Job titles by contact role.
var (
	titlesInstanceAdmin  = []string{"DevOps Engineer", "Platform Engineer", "Site Reliability Engineer", "Infrastructure Lead", "IT Systems Administrator", "Senior Platform Engineer"}
	titlesProgramContact = []string{"Engineering Manager", "Developer Productivity Lead", "Director of Developer Experience", "Developer Tools Manager", "Head of Engineering Enablement"}
	titlesChampion       = []string{"Staff Engineer", "Principal Engineer", "Head of Platform", "Senior Staff Engineer", "Architect"}
	titlesStakeholder    = []string{"Director of Engineering", "Security Architect", "Head of Developer Tools", "Engineering Director", "CISO", "VP of Platform"}
	titlesBuyer          = []string{"VP of Engineering", "CTO", "SVP of Engineering", "Director of Engineering", "Head of Procurement"}
	titlesEndUser        = []string{"Software Engineer", "Senior Software Engineer", "Backend Engineer", "Frontend Engineer", "Data Engineer", "Mobile Engineer", "QA Engineer", "Machine Learning Engineer"}
)

// releases are the product versions an instance can run, oldest first;
// the last one is current, so "versions behind" indexes back from it.
var releases = []string{
	"5.0", "5.1", "5.2", "5.3", "5.4", "5.5", "5.6", "5.7", "5.8", "5.9", "5.10", "5.11",
	"6.0", "6.1", "6.2", "6.3", "6.4",
}
