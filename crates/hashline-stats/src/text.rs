//! The words of the statistics report in English and Khmer. Every key has both (the match is
//! exhaustive), and a test renders every key in both languages.

/// The report's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Khmer.
    Km,
}

impl Lang {
    /// `en` or `km`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "km" => Some(Lang::Km),
            _ => None,
        }
    }

    /// The language tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Km => "km",
        }
    }
}

/// A word or phrase of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Key {
    Title,
    Period,
    Generated,
    SmallCounts,
    AggregateOnly,
    Summary,
    FilesExamined,
    Reports,
    Decisions,
    Reveals,
    RevealsShort,
    ByChannel,
    MatchesByList,
    ByState,
    ByPlatform,
    ByClass,
    ByAssessment,
    Durations,
    UploadToMatch,
    MatchToDecision,
    DecisionToDelivery,
    Cases,
    Median,
    P95,
    Withheld,
    NearMatches,
    Decided,
    Dismissed,
    FalsePositiveRate,
    Weekly,
    WeekOf,
    ToReview,
    Retroactive,
    Quarantined,
    NotRecorded,
    PerAnalyst,
    Analyst,
    ChartReports,
    ChartWorkload,
    ChartClass,
    LighterBars,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl Key {
    /// Every key.
    #[cfg(test)]
    pub const ALL: [Key; 45] = [
        Key::Title,
        Key::Period,
        Key::Generated,
        Key::SmallCounts,
        Key::AggregateOnly,
        Key::Summary,
        Key::FilesExamined,
        Key::Reports,
        Key::Decisions,
        Key::Reveals,
        Key::RevealsShort,
        Key::ByChannel,
        Key::MatchesByList,
        Key::ByState,
        Key::ByPlatform,
        Key::ByClass,
        Key::ByAssessment,
        Key::Durations,
        Key::UploadToMatch,
        Key::MatchToDecision,
        Key::DecisionToDelivery,
        Key::Cases,
        Key::Median,
        Key::P95,
        Key::Withheld,
        Key::NearMatches,
        Key::Decided,
        Key::Dismissed,
        Key::FalsePositiveRate,
        Key::Weekly,
        Key::WeekOf,
        Key::ToReview,
        Key::Retroactive,
        Key::Quarantined,
        Key::NotRecorded,
        Key::PerAnalyst,
        Key::Analyst,
        Key::ChartReports,
        Key::ChartWorkload,
        Key::ChartClass,
        Key::LighterBars,
        Key::Seconds,
        Key::Minutes,
        Key::Hours,
        Key::Days,
    ];
}

/// `key` in `lang`.
pub fn t(lang: Lang, key: Key) -> &'static str {
    use Key::*;
    match lang {
        Lang::En => match key {
            Title => "Hotline statistics",
            Period => "Period",
            Generated => "Made",
            SmallCounts => "Counts from 1 to 4 are shown as \u{201c}< 5\u{201d} so that no single case can be singled out; times and rates from fewer than 5 cases are withheld.",
            AggregateOnly => "Aggregate figures only: no hash, file name, upload, report or account appears in this report.",
            Summary => "Summary",
            FilesExamined => "Files examined",
            Reports => "Reports",
            Decisions => "Review decisions",
            Reveals => "Media reveals (analyst exposure)",
            RevealsShort => "Media reveals",
            ByChannel => "Files examined by channel",
            MatchesByList => "Matches by list and signal",
            ByState => "Reports by state",
            ByPlatform => "Reports by platform",
            ByClass => "Reports by industry class",
            ByAssessment => "Reports by legal assessment (ICCAM)",
            Durations => "Time through the chain",
            UploadToMatch => "Upload to match",
            MatchToDecision => "Match to review decision",
            DecisionToDelivery => "Decision to delivery",
            Cases => "Cases",
            Median => "Median",
            P95 => "95th percentile",
            Withheld => "withheld",
            NearMatches => "Near matches reviewed by analysts",
            Decided => "Decided",
            Dismissed => "Dismissed as false positives",
            FalsePositiveRate => "False-positive rate",
            Weekly => "Week by week",
            WeekOf => "Week of",
            ToReview => "Sent to review",
            Retroactive => "Retroactive matches",
            Quarantined => "Quarantined uploads",
            NotRecorded => "not recorded by this version",
            PerAnalyst => "Workload per analyst (asked for by an administrator)",
            Analyst => "Analyst",
            ChartReports => "Reports per week",
            ChartWorkload => "Review decisions and media reveals per week",
            ChartClass => "Reports by industry class",
            LighterBars => "Lighter bars: fewer than 5 (drawn at 5).",
            Seconds => "s",
            Minutes => "min",
            Hours => "h",
            Days => "days",
        },
        Lang::Km => match key {
            Title => "ស្ថិតិរបស់ខ្សែទូរស័ព្ទជាតិ",
            Period => "រយៈពេល",
            Generated => "បានធ្វើនៅ",
            SmallCounts => "ចំនួនពី ១ ដល់ ៤ ត្រូវបានបង្ហាញជា “< 5” ដើម្បីកុំឱ្យអាចសម្គាល់ករណីណាមួយបាន ហើយពេលវេលា និងអត្រាដែលមកពីករណីតិចជាង ៥ មិនត្រូវបានបង្ហាញទេ។",
            AggregateOnly => "មានតែតួលេខសរុបប៉ុណ្ណោះ៖ គ្មានហាស ឈ្មោះឯកសារ ការផ្ទុកឡើង របាយការណ៍ ឬគណនីណាមួយនៅក្នុងរបាយការណ៍នេះទេ។",
            Summary => "សេចក្តីសង្ខេប",
            FilesExamined => "ឯកសារដែលបានពិនិត្យ",
            Reports => "របាយការណ៍",
            Decisions => "ការសម្រេចចិត្តពិនិត្យ",
            Reveals => "ការបង្ហាញឯកសារមេឌៀ (ការប៉ះពាល់របស់អ្នកវិភាគ)",
            RevealsShort => "ការបង្ហាញមេឌៀ",
            ByChannel => "ឯកសារដែលបានពិនិត្យ តាមប្រភព",
            MatchesByList => "ការផ្គូផ្គង តាមបញ្ជី និងប្រភេទហាស",
            ByState => "របាយការណ៍ តាមស្ថានភាព",
            ByPlatform => "របាយការណ៍ តាមវេទិកា",
            ByClass => "របាយការណ៍ តាមថ្នាក់ឧស្សាហកម្ម",
            ByAssessment => "របាយការណ៍ តាមការវាយតម្លៃផ្លូវច្បាប់ (ICCAM)",
            Durations => "រយៈពេលឆ្លងកាត់ខ្សែសង្វាក់",
            UploadToMatch => "ពីការផ្ទុកឡើង ដល់ការផ្គូផ្គង",
            MatchToDecision => "ពីការផ្គូផ្គង ដល់ការសម្រេចចិត្តពិនិត្យ",
            DecisionToDelivery => "ពីការសម្រេចចិត្ត ដល់ការបញ្ជូន",
            Cases => "ករណី",
            Median => "មេដ្យាន",
            P95 => "ភាគរយទី ៩៥",
            Withheld => "មិនបង្ហាញ",
            NearMatches => "ការផ្គូផ្គងជិតស្និទ្ធ ដែលអ្នកវិភាគបានពិនិត្យ",
            Decided => "បានសម្រេច",
            Dismissed => "បានច្រានចោលថាជាការផ្គូផ្គងខុស",
            FalsePositiveRate => "អត្រាផ្គូផ្គងខុស",
            Weekly => "ប្រចាំសប្តាហ៍",
            WeekOf => "សប្តាហ៍ចាប់ពី",
            ToReview => "បានបញ្ជូនទៅពិនិត្យ",
            Retroactive => "ការផ្គូផ្គងក្រោយ (នៅពេលបញ្ជីកើនឡើង)",
            Quarantined => "ការផ្ទុកឡើងដែលបានដាក់ឱ្យនៅដាច់ដោយឡែក",
            NotRecorded => "កំណែនេះមិនទាន់កត់ត្រាទេ",
            PerAnalyst => "បន្ទុកការងារ តាមអ្នកវិភាគ (ស្នើដោយអ្នកគ្រប់គ្រង)",
            Analyst => "អ្នកវិភាគ",
            ChartReports => "របាយការណ៍ ក្នុងមួយសប្តាហ៍",
            ChartWorkload => "ការសម្រេចចិត្ត និងការបង្ហាញមេឌៀ ក្នុងមួយសប្តាហ៍",
            ChartClass => "របាយការណ៍ តាមថ្នាក់ឧស្សាហកម្ម",
            LighterBars => "របារពណ៌ស្រាល៖ តិចជាង ៥ (គូរត្រឹម ៥)។",
            Seconds => "វិនាទី",
            Minutes => "នាទី",
            Hours => "ម៉ោង",
            Days => "ថ្ងៃ",
        },
    }
}

/// The name of a state, channel or assessment in `lang` (the key itself when unknown).
pub fn term(lang: Lang, key: &str) -> String {
    let km = |s: &'static str| if lang == Lang::Km { s } else { "" };
    let en = match key {
        "pending" => ("confirmed, waiting for delivery", km("បានបញ្ជាក់ រង់ចាំបញ្ជូន")),
        "review" => ("in review", km("កំពុងត្រួតពិនិត្យ")),
        "delivered" => ("delivered", km("បានបញ្ជូន")),
        "parked" => ("refused by the hotline", km("ត្រូវបានបដិសេធដោយខ្សែទូរស័ព្ទជាតិ")),
        "dismissed" => ("dismissed", km("ផ្គូផ្គងខុស")),
        "kafka" => ("platform upload streams (Kafka)", km("ស្ទ្រីមផ្ទុកឡើងរបស់វេទិកា (Kafka)")),
        "scan" => ("folder scans", km("ការស្កេនថត")),
        "api" => ("match API", km("API ផ្គូផ្គង")),
        "baseline" => ("illegal: international baseline", km("ខុសច្បាប់៖ មូលដ្ឋានអន្តរជាតិ")),
        "national" => ("illegal: national law", km("ខុសច្បាប់៖ ច្បាប់ជាតិ")),
        "not_illegal" => ("not illegal", km("មិនខុសច្បាប់")),
        "not_assessed" => ("not assessed", km("មិនទាន់វាយតម្លៃ")),
        "unclassified" => ("unclassified", km("មិនទាន់ចាត់ថ្នាក់")),
        "unknown" => ("unknown", km("មិនស្គាល់")),
        other => return other.to_string(),
    };
    if lang == Lang::Km { en.1 } else { en.0 }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_words_in_both_languages_and_they_differ() {
        for k in Key::ALL {
            let (en, km) = (t(Lang::En, k), t(Lang::Km, k));
            assert!(!en.is_empty() && !km.is_empty(), "{k:?}");
            assert_ne!(en, km, "{k:?} is not translated");
        }
        for term_key in
            ["pending", "review", "delivered", "parked", "dismissed", "kafka", "scan", "not_assessed"]
        {
            assert_ne!(term(Lang::En, term_key), term(Lang::Km, term_key));
        }
        assert_eq!(term(Lang::Km, "A1"), "A1");
    }
}
