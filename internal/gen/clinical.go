package gen

// Code systems.
const (
	LOINC   = "http://loinc.org"
	SNOMED  = "http://snomed.info/sct"
	ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
	RxNorm  = "http://www.nlm.nih.gov/research/umls/rxnorm"
	CVX     = "http://hl7.org/fhir/sid/cvx"
	UCUM    = "http://unitsofmeasure.org"
	NPI     = "http://hl7.org/fhir/sid/us-npi"
)

// condDef is a problem: SNOMED CT for FHIR sources, ICD-10-CM for HL7 v2 DG1.
type condDef struct {
	key              string
	snomed, display  string
	icd10, icdText   string
	chronic          bool
	med              *medDef // first-line treatment, nil when none
	referral         string  // specialty a practice refers to, "" when none
	minAge, maxAge   int
	chanceYoung, old float64 // chance of having it below and from age 40
}

// medDef is a medication as an RxNorm clinical drug.
type medDef struct {
	rxnorm, display, dosage string
	days                    int // supply per fill
}

var (
	medLisinopril   = &medDef{"314076", "lisinopril 10 MG Oral Tablet", "Take 1 tablet by mouth once daily", 90}
	medAmlodipine   = &medDef{"197361", "amlodipine 5 MG Oral Tablet", "Take 1 tablet by mouth once daily", 90}
	medMetformin    = &medDef{"860975", "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet", "Take 1 tablet by mouth daily with the evening meal", 90}
	medAtorvastatin = &medDef{"617310", "atorvastatin 20 MG Oral Tablet", "Take 1 tablet by mouth at bedtime", 90}
	medAlbuterol    = &medDef{"745679", "200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "Inhale 2 puffs every 4 to 6 hours as needed for wheezing", 30}
	medLevothyrox   = &medDef{"966222", "levothyroxine sodium 0.05 MG Oral Tablet", "Take 1 tablet by mouth every morning before breakfast", 90}
	medSertraline   = &medDef{"312940", "sertraline 50 MG Oral Tablet", "Take 1 tablet by mouth once daily", 30}
	medOmeprazole   = &medDef{"198053", "omeprazole 20 MG Delayed Release Oral Capsule", "Take 1 capsule by mouth before breakfast", 30}
	medApixaban     = &medDef{"1364445", "apixaban 5 MG Oral Tablet", "Take 1 tablet by mouth twice daily", 30}
	medIbuprofen    = &medDef{"197806", "ibuprofen 400 MG Oral Tablet", "Take 1 tablet by mouth every 6 hours as needed for pain", 10}
	medAmoxicillin  = &medDef{"308191", "amoxicillin 500 MG Oral Capsule", "Take 1 capsule by mouth three times daily for 10 days", 10}
	medNitrofur     = &medDef{"1648755", "nitrofurantoin 100 MG Oral Capsule", "Take 1 capsule by mouth twice daily for 5 days", 5}
)

// Alternatives a prescriber switches to when the first medication is stopped.
var switchTo = map[*medDef]*medDef{medLisinopril: medAmlodipine}

var conditions = []*condDef{
	{key: "htn", snomed: "38341003", display: "Hypertensive disorder, systemic arterial", icd10: "I10", icdText: "Essential (primary) hypertension", chronic: true, med: medLisinopril, minAge: 18, maxAge: 200, chanceYoung: 0.05, old: 0.32},
	{key: "dm2", snomed: "44054006", display: "Diabetes mellitus type 2", icd10: "E11.9", icdText: "Type 2 diabetes mellitus without complications", chronic: true, med: medMetformin, referral: "Endocrinology", minAge: 18, maxAge: 200, chanceYoung: 0.02, old: 0.13},
	{key: "hld", snomed: "55822004", display: "Hyperlipidemia", icd10: "E78.5", icdText: "Hyperlipidemia, unspecified", chronic: true, med: medAtorvastatin, minAge: 25, maxAge: 200, chanceYoung: 0.03, old: 0.27},
	{key: "asthma", snomed: "195967001", display: "Asthma", icd10: "J45.909", icdText: "Unspecified asthma, uncomplicated", chronic: true, med: medAlbuterol, referral: "Pulmonology", minAge: 2, maxAge: 200, chanceYoung: 0.09, old: 0.07},
	{key: "hypothyroid", snomed: "40930008", display: "Hypothyroidism", icd10: "E03.9", icdText: "Hypothyroidism, unspecified", chronic: true, med: medLevothyrox, minAge: 20, maxAge: 200, chanceYoung: 0.02, old: 0.07},
	{key: "depression", snomed: "35489007", display: "Depressive disorder", icd10: "F32.A", icdText: "Depression, unspecified", chronic: true, med: medSertraline, referral: "Behavioral health", minAge: 13, maxAge: 200, chanceYoung: 0.07, old: 0.08},
	{key: "gerd", snomed: "235595009", display: "Gastroesophageal reflux disease", icd10: "K21.9", icdText: "Gastro-esophageal reflux disease without esophagitis", chronic: true, med: medOmeprazole, minAge: 18, maxAge: 200, chanceYoung: 0.04, old: 0.09},
	{key: "oa", snomed: "239873007", display: "Osteoarthritis of knee", icd10: "M17.9", icdText: "Osteoarthritis of knee, unspecified", chronic: true, med: medIbuprofen, referral: "Orthopedics", minAge: 45, maxAge: 200, chanceYoung: 0, old: 0.12},
	{key: "afib", snomed: "49436004", display: "Atrial fibrillation", icd10: "I48.91", icdText: "Unspecified atrial fibrillation", chronic: true, med: medApixaban, referral: "Cardiology", minAge: 60, maxAge: 200, chanceYoung: 0, old: 0.06},
}

// Acute problems of sick visits and emergency visits.
var (
	acuteAdult = []*condDef{
		{key: "bronchitis", snomed: "10509002", display: "Acute bronchitis", icd10: "J20.9", icdText: "Acute bronchitis, unspecified"},
		{key: "uti", snomed: "68566005", display: "Urinary tract infectious disease", icd10: "N39.0", icdText: "Urinary tract infection, site not specified", med: medNitrofur},
		{key: "sprain", snomed: "44465007", display: "Sprain of ankle", icd10: "S93.401A", icdText: "Sprain of unspecified ligament of right ankle, initial encounter", med: medIbuprofen},
		{key: "sinusitis", snomed: "444814009", display: "Viral sinusitis", icd10: "J01.90", icdText: "Acute sinusitis, unspecified"},
		{key: "influenza", snomed: "6142004", display: "Influenza", icd10: "J11.1", icdText: "Influenza with other respiratory manifestations"},
		{key: "chestpain", snomed: "29857009", display: "Chest pain", icd10: "R07.9", icdText: "Chest pain, unspecified"},
		{key: "backpain", snomed: "279039007", display: "Low back pain", icd10: "M54.50", icdText: "Low back pain, unspecified", med: medIbuprofen},
	}
	acuteChild = []*condDef{
		{key: "otitis", snomed: "65363002", display: "Otitis media", icd10: "H66.90", icdText: "Otitis media, unspecified, unspecified ear", med: medAmoxicillin},
		{key: "strep", snomed: "43878008", display: "Streptococcal sore throat", icd10: "J02.0", icdText: "Streptococcal pharyngitis", med: medAmoxicillin},
		{key: "uri", snomed: "54150009", display: "Upper respiratory infection", icd10: "J06.9", icdText: "Acute upper respiratory infection, unspecified"},
		{key: "gastro", snomed: "25374005", display: "Gastroenteritis", icd10: "K52.9", icdText: "Noninfective gastroenteritis and colitis, unspecified"},
	}
)

// allergyDef is an allergy to a drug (RxNorm) or another substance (SNOMED CT).
type allergyDef struct {
	system, code, display, category, v2type string // v2type is AL1-2 (table 0127)
	chance                                  float64
}

var allergies = []allergyDef{
	{RxNorm, "70618", "Penicillin", "medication", "DA", 0.09},
	{RxNorm, "10180", "Sulfamethoxazole", "medication", "DA", 0.04},
	{RxNorm, "2670", "Codeine", "medication", "DA", 0.03},
	{SNOMED, "256349002", "Peanut - dietary", "food", "FA", 0.03},
	{SNOMED, "735029006", "Shellfish", "food", "FA", 0.02},
	{SNOMED, "111088007", "Latex", "environment", "EA", 0.02},
	{SNOMED, "288328004", "Bee venom", "environment", "EA", 0.02},
}

// reactions: SNOMED CT code and display.
var reactions = [][2]string{
	{"126485001", "Urticaria"}, {"271807003", "Eruption of skin"}, {"39579001", "Anaphylaxis"},
	{"422587007", "Nausea"}, {"267036007", "Dyspnea"},
}

// vaccineDef is a vaccine by its CVX code.
type vaccineDef struct{ cvx, display string }

var (
	vaxFlu    = vaccineDef{"150", "influenza, injectable, quadrivalent, preservative free"}
	vaxCovid  = vaccineDef{"208", "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose"}
	vaxTdap   = vaccineDef{"115", "Tdap"}
	vaxZoster = vaccineDef{"187", "zoster vaccine recombinant"}
	vaxPneumo = vaccineDef{"33", "pneumococcal polysaccharide vaccine, 23 valent"}
	vaxDTaP   = vaccineDef{"20", "DTaP"}
	vaxIPV    = vaccineDef{"10", "IPV"}
	vaxHepB   = vaccineDef{"08", "Hep B, adolescent or pediatric"}
	vaxMMR    = vaccineDef{"03", "MMR"}
	vaxVZV    = vaccineDef{"21", "varicella"}
	vaxHPV    = vaccineDef{"165", "HPV9"}
)

// labTest is a laboratory test: LOINC, UCUM unit, reference range and the
// usual spread of values.
type labTest struct {
	loinc, display, unit string
	low, high            float64 // reference range; 0 for "none on that side"
	mean, sd             float64
	decimals             int
}

// panelDef is an ordered panel and its tests.
type panelDef struct {
	loinc, display, section string // section is OBR-24 (table 0074)
	tests                   []*labTest
}

var (
	testGlucose = &labTest{"2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 99, 92, 9, 0}
	testBUN     = &labTest{"3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "mg/dL", 7, 20, 14, 3.5, 0}
	testCreat   = &labTest{"2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.6, 1.3, 0.9, 0.15, 2}
	testSodium  = &labTest{"2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 135, 145, 140, 2, 0}
	testK       = &labTest{"2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 3.5, 5.1, 4.2, 0.3, 1}
	testCalcium = &labTest{"17861-6", "Calcium [Mass/volume] in Serum or Plasma", "mg/dL", 8.6, 10.3, 9.4, 0.35, 1}
	testChol    = &labTest{"2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", 0, 200, 185, 25, 0}
	testTrig    = &labTest{"2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "mg/dL", 0, 150, 120, 35, 0}
	testHDL     = &labTest{"2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mg/dL", 40, 0, 52, 10, 0}
	testLDL     = &labTest{"13457-7", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation", "mg/dL", 0, 100, 105, 25, 0}
	testHgb     = &labTest{"718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 12, 17.5, 14, 1.2, 1}
	testWBC     = &labTest{"6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", 4, 11, 7, 1.6, 1}
	testPlt     = &labTest{"777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 150, 400, 260, 50, 0}
	testHct     = &labTest{"4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "%", 36, 50, 42, 3.5, 1}
	testA1c     = &labTest{"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 4, 5.6, 5.3, 0.3, 1}
	testTSH     = &labTest{"3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "m[IU]/L", 0.4, 4.5, 2, 0.8, 2}
)

var (
	panelBMP   = &panelDef{"51990-0", "Basic metabolic panel - Blood", "CH", []*labTest{testGlucose, testBUN, testCreat, testSodium, testK, testCalcium}}
	panelLipid = &panelDef{"57698-3", "Lipid panel with direct LDL - Serum or Plasma", "CH", []*labTest{testChol, testTrig, testHDL, testLDL}}
	panelCBC   = &panelDef{"58410-2", "CBC panel - Blood by Automated count", "HM", []*labTest{testHgb, testWBC, testPlt, testHct}}
	panelA1c   = &panelDef{"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "CH", []*labTest{testA1c}}
	panelTSH   = &panelDef{"3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "CH", []*labTest{testTSH}}
)

// vitalDef is a vital sign by LOINC with its UCUM unit.
type vitalDef struct {
	loinc, display, unit string
	decimals             int
}

var (
	vitalBP     = vitalDef{"85354-9", "Blood pressure panel with all children optional", "mm[Hg]", 0}
	vitalSys    = vitalDef{"8480-6", "Systolic blood pressure", "mm[Hg]", 0}
	vitalDia    = vitalDef{"8462-4", "Diastolic blood pressure", "mm[Hg]", 0}
	vitalHR     = vitalDef{"8867-4", "Heart rate", "/min", 0}
	vitalRR     = vitalDef{"9279-1", "Respiratory rate", "/min", 0}
	vitalTemp   = vitalDef{"8310-5", "Body temperature", "Cel", 1}
	vitalWeight = vitalDef{"29463-7", "Body weight", "kg", 1}
	vitalHeight = vitalDef{"8302-2", "Body height", "cm", 1}
	vitalBMI    = vitalDef{"39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", 1}
	vitalSpO2   = vitalDef{"59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", 0}
	panelVitals = &panelDef{"85353-1", "Vital signs, weight, height, head circumference, oxygen saturation and BMI panel", "", nil}
)

// Encounter types (SNOMED CT) and their v3 ActCode class.
type encounterType struct {
	snomed, display, class, v2class string
}

var (
	encWellness  = encounterType{"185349003", "Encounter for check up", "AMB", "O"}
	encSick      = encounterType{"185345009", "Encounter for symptom", "AMB", "O"}
	encEmergency = encounterType{"50849002", "Emergency room admission", "EMER", "E"}
	encInpatient = encounterType{"32485007", "Hospital admission", "IMP", "I"}
)

// noteComments are NTE comments a laboratory adds to results; they hold the
// characters HL7 v2 must escape.
var noteComments = []string{
	"Specimen slightly hemolyzed; potassium may be falsely elevated.",
	"Fasting & non-fasting reference ranges differ | see lab handbook.",
	"Repeat in 3 months ~ per protocol.",
	"Result verified by R&D: instrument ^QC^ passed.",
	"Called to Dr. office at 14:05\\read back confirmed.",
}
