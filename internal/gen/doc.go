// Package gen generates a synthetic population as several source systems would
// send it to Omnichart, together with the truth about it: which source records
// are the same person, which different people were made to look alike, and which
// clinical facts arrive from more than one source, alike or in conflict. It is
// the test bed of patient matching (the master patient index) and of merging
// one person's records.
//
// Generation is pure and deterministic: Generate takes Options and hands back
// files; the same options give the same bytes. It stores nothing and imports
// only package fhir. internal/synth, which makes single-source patients for
// benchmarks, shares the idea of independent random streams per decision.
//
// # Output
//
//	DIR/sources/<slug>/<MRN>.json   a FHIR source: one transaction Bundle per patient
//	DIR/sources/<slug>/<MRN>.hl7    an HL7 v2 source: the patient's messages, in time order
//	DIR/sources.json                the sources (Source): slug, name, kind, EMR, interfaces,
//	                                identifier systems, number of patients
//	DIR/truth.json                  the Truth
//	DIR/import.sh                   omnichart admin source add and import, per source
//
// Each source has its own MRN system (urn:oid:2.999.1.<n>.1; 2.999 is the arc
// reserved for examples), and its own systems for other records (.2), visits
// (.3) and lab orders (.4). SSNs use http://hl7.org/fhir/sid/us-ssn and lie in
// the 9xx area the Social Security Administration never issues; phone numbers
// use the 555 exchange; NPIs have valid check digits but random bodies.
//
// Every file imports with "omnichart import --source <slug> DIR/sources/<slug>"
// without a failure or an identity conflict: within one source a person's
// demographics are the same in every message, apart from an address that
// ADT^A08 updates after a move.
//
// # Sources
//
// The first sources are, in order: a hospital sending HL7 v2 (ADT^A04 per visit,
// ADT^A08 after a move, ORU^R01 for lab panels and vital signs), a family
// practice sending FHIR, a reference laboratory sending ORU^R01 only, a
// pharmacy sending FHIR (MedicationStatement, MedicationDispense, Immunization,
// AllergyIntolerance), a hospital sending FHIR, and a pediatric practice sending
// HL7 v2, then more of each kind, MaxSources in all. The HL7 v2 is written by
// a small ER7 writer of this package that escapes \ | ^ & ~ and line breaks.
//
// # People
//
// People live in households that share a family name, an address and a home
// phone. Married women may have changed their family name; a share of
// households moved house during the history. Each person goes to the household's
// usual hospital or practice, and a share of them (MultiSourceShare) to one to
// three more sources. MRNs are drawn at random per source, so their order says
// nothing across sources.
//
// Hard negatives, planted at their shares of People and listed in
// Truth.HardNegatives:
//
//	twins          same family name, birth date, address and phone, other given
//	               names; usually at the same sources; some sources flag the
//	               multiple birth
//	junior-senior  father and son with the same given, middle and family name,
//	               Sr and Jr, often at one address
//	common-name    two or three people with one common full name in Springfield
//
// # Differences between records
//
// Each source record (Record) gets each difference with its rate, drawn
// independently; Record.Variations lists the ones it got:
//
//	knob (Options, flag)                     variation                      what the record shows
//	TypoRate, --typo-rate                    typo-given, typo-family        a neighbouring key, two letters swapped, one left out or doubled
//	NicknameRate, --nickname-rate            nickname                       Bill for William, Peggy for Margaret
//	MarriedNameRate, --married-name-rate     maiden-name                    the family name before marriage
//	SurnameFormRate, --surname-form-rate     surname-form                   Garcia-Lopez, Garcia; Smith Jones; OBrien; DeLaCruz
//	SuffixDropRate, --suffix-drop-rate       no-suffix                      Jr or Sr left out
//	UpperCaseRate, --upper-case-rate         upper-case                     names and address in capitals
//	DateSwapRate, --date-swap-rate           birth-date-day-month-swapped   1984-05-03 for 1984-03-05
//	MissingSSNRate, --missing-ssn-rate       no-ssn                         no SSN (twice as often at a laboratory)
//	SSNTypoRate, --ssn-typo-rate             ssn-typo                       one digit wrong or two swapped
//	MissingPhoneRate, --missing-phone-rate   no-phone                       no phone
//	MovedShare, --moved-share                old-address                    the address before the move, when the source
//	                                                                        last saw the person before it (a laboratory
//	                                                                        keeps the address it was first given)
//	(half of the twins' records)             multiple-birth-flag            multipleBirthInteger, PID-24/25
//
// Sources also differ in form without error, which is not listed: street types
// abbreviated or not, "Apt", "Unit" or "#", ZIP+4, three phone formats, middle
// name or initial, the maiden name as a second name.
//
// # Clinical content
//
// Over Years ending at End, each person has chronic problems by age (SNOMED CT
// and ICD-10-CM) with their medications (RxNorm), some switched; allergies;
// yearly check-ups and sick visits at practices, emergency visits and
// admissions at hospitals, each with vital signs (LOINC, UCUM), lab panels
// (BMP, lipids, CBC, HbA1c, TSH) whose values follow the problems and their
// treatment, acute problems and their short treatments, referrals, notes and
// immunizations by age; pharmacies fill medications and give flu, COVID-19 and
// zoster shots. FHIR sources send all of it; HL7 v2 sources send visits,
// diagnoses (DG1), allergies (AL1), results and vital signs.
//
// # Shared facts
//
// A fact several sources send is listed in Truth.Duplicates when they agree and
// Truth.Conflicts when they do not, with one FactRef per record (source, MRN,
// resource type, business identifier, code, time, status, value):
//
//	fact           sent by
//	lab-result     the laboratory that ran the panel, and with DuplicateFactRate also
//	               the ordering practice or hospital (same time, same value)
//	immunization   the pharmacy that gave it, and with DuplicateFactRate also the
//	               person's FHIR practice (primarySource false, reportOrigin record)
//	condition      every practice and hospital that saw the person after onset
//	allergy        practices, hospitals and, for drug allergies, pharmacies
//	medication     practices and FHIR hospitals (MedicationRequest), pharmacies
//	               (MedicationStatement)
//
// With ConflictRate, per person at several sources and per kind, one fact is
// made to disagree: allergy-status (active at one source, resolved at a FHIR
// one), medication-status (active at one, stopped at another), lab-value (two
// values for one test at one time).
//
// # Example
//
// An excerpt of truth.json:
//
//	{"options": {"people": 200, "sources": 4, "seed": 5, ...},
//	 "persons": [{"id": "P000002", "given": ["Elizabeth"], "family": "King", "maiden": "Brown",
//	   "sex": "female", "birthDate": "1990-09-14", "ssn": "931-65-8832",
//	   "address": "1585 Center Street, Holyoke, MA 01040", "phone": "413-555-2578",
//	   "records": [
//	     {"source": "st-marys", "system": "urn:oid:2.999.1.1.1", "mrn": "26077227", "variations": ["no-phone"]},
//	     {"source": "northside-lab", "system": "urn:oid:2.999.1.3.1", "mrn": "L6929001", "variations": ["no-ssn"]}]}],
//	 "hardNegatives": [{"kind": "twins", "persons": ["P000034", "P000035"]}],
//	 "duplicates": [{"person": "P000003", "kind": "condition", "display": "Asthma", "records": [
//	   {"source": "riverside-family", "mrn": "400215", "resourceType": "Condition",
//	    "identifier": {"system": "urn:oid:2.999.1.2.2", "value": "C400215005"},
//	    "code": "http://snomed.info/sct|195967001", "time": "2008-11-19T11:34:29-05:00", "status": "active"},
//	   {"source": "st-marys", "mrn": "19893595", "resourceType": "Condition",
//	    "identifier": {"system": "urn:oid:2.999.1.1.2", "value": "C19893595004"},
//	    "code": "http://hl7.org/fhir/sid/icd-10-cm|J45.909", "time": "2023-12-25T10:21:58-05:00"}]}],
//	 "conflicts": [{"person": "P000082", "kind": "medication", "conflict": "medication-status", ...}]}
package gen
