import Foundation

/// A cron schedule as the CronJob controller reads it (robfig/cron's standard parser): five fields, minute,
/// hour, day of month, month and day of week, each `*`, a value, a range, a list, with `/step`, months and
/// weekdays by name; or a macro (`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`,
/// `@hourly`). As cron has it, when both days are restricted either one matching is enough. Pure.
public struct CronSchedule: Equatable, Sendable {
    public let minutes: Set<Int>, hours: Set<Int>, days: Set<Int>, months: Set<Int>, weekdays: Set<Int>
    let daysRestricted: Bool, weekdaysRestricted: Bool

    public struct Failure: Error, Equatable, CustomStringConvertible { public let description: String }

    static let macros = ["@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
                         "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"]
    static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    public init(_ text: String) throws(Failure) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let expanded = Self.macros[trimmed.lowercased()] ?? trimmed
        if expanded.hasPrefix("@") { throw Failure(description: "unrecognized descriptor: \(trimmed)") }
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else { throw Failure(description: "expected exactly 5 fields, found \(fields.count): \(text)") }
        minutes = try Self.field(fields[0], 0...59, names: [])
        hours = try Self.field(fields[1], 0...23, names: [])
        days = try Self.field(fields[2], 1...31, names: [])
        months = try Self.field(fields[3], 1...12, names: Self.monthNames, offset: 1)
        // 7 is Sunday too.
        weekdays = Set(try Self.field(fields[4], 0...7, names: Self.dayNames).map { $0 % 7 })
        daysRestricted = !fields[2].hasPrefix("*") && fields[2] != "?"
        weekdaysRestricted = !fields[4].hasPrefix("*") && fields[4] != "?"
    }

    static func field(_ text: String, _ bounds: ClosedRange<Int>, names: [String], offset: Int = 0) throws(Failure) -> Set<Int> {
        var values: Set<Int> = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard pieces.count <= 2, !pieces[0].isEmpty else { throw Failure(description: "failed to parse \(text)") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else { throw Failure(description: "failed to parse int from \(pieces[1])") }
                step = parsed
            }
            var range: ClosedRange<Int>
            if pieces[0] == "*" || pieces[0] == "?" {
                range = bounds
            } else {
                let ends = pieces[0].split(separator: "-", omittingEmptySubsequences: false).map(String.init)
                guard ends.count <= 2 else { throw Failure(description: "failed to parse \(part)") }
                func value(_ text: String) throws(Failure) -> Int {
                    if let index = names.firstIndex(of: text.lowercased()) { return index + offset }
                    guard let number = Int(text) else { throw Failure(description: "failed to parse int from \(text)") }
                    return number
                }
                let low = try value(ends[0]), high = ends.count == 2 ? try value(ends[1]) : (pieces.count == 2 ? bounds.upperBound : low)
                guard bounds.contains(low), bounds.contains(high) else {
                    throw Failure(description: "end of range (\(high)) above maximum (\(bounds.upperBound)): \(part)")
                }
                guard low <= high else { throw Failure(description: "beginning of range (\(low)) beyond end of range (\(high)): \(part)") }
                range = low...high
            }
            values.formUnion(stride(from: range.lowerBound, through: range.upperBound, by: step))
        }
        return values
    }

    /// Whether the minute starting at `date` (in `zone`) is one the schedule names. Civil-date arithmetic rather
    /// than a Calendar: the controller asks about many minutes.
    public func matches(_ date: Date, in zone: TimeZone) -> Bool {
        let local = Int(date.timeIntervalSince1970.rounded(.down)) + zone.secondsFromGMT(for: date)
        let (whole, seconds) = local.quotientAndRemainder(dividingBy: 86400)
        let dayNumber = seconds < 0 ? whole - 1 : whole, second = seconds < 0 ? seconds + 86400 : seconds
        guard minutes.contains(second / 60 % 60), hours.contains(second / 3600) else { return false }
        let (_, month, day) = Self.civil(dayNumber)
        guard months.contains(month) else { return false }
        let weekday = ((dayNumber % 7) + 11) % 7  // 1970-01-01 was a Thursday (4)
        let dayMatches = days.contains(day), weekdayMatches = weekdays.contains(weekday)
        return daysRestricted && weekdaysRestricted ? dayMatches || weekdayMatches : dayMatches && weekdayMatches
    }

    /// Year, month and day of a count of days since 1970-01-01 (the proleptic Gregorian calendar).
    public static func civil(_ daysSinceEpoch: Int) -> (year: Int, month: Int, day: Int) {
        let z = daysSinceEpoch + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let dayOfEra = z - era * 146097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The last scheduled minute after `after` and at or before `now`, looking back at most `limit` minutes.
    public func lastTime(after: Date, upTo now: Date, in zone: TimeZone, limit: Int = 60 * 24 * 8) -> Date? {
        var minute = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 60).rounded(.down) * 60)
        for _ in 0..<limit {
            guard minute > after else { return nil }
            if matches(minute, in: zone) { return minute }
            minute = minute.addingTimeInterval(-60)
        }
        return nil
    }
}
