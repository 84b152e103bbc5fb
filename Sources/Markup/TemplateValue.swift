/// What a template reads: text, numbers, yes/no, lists and objects of named fields. A page's
/// data is a plain Swift struct; `TemplateValue(encoding:)` turns it into this through its
/// compiler-written `Encodable` conformance (typed calls, no reflection and no dynamic casts),
/// so a misspelt or missing value is a compile error in the controller, not an empty spot on
/// the page, and a page costs one walk over its data.
public enum TemplateValue: Sendable {
    case text(String)
    case integer(Int)
    case real(Double)
    case bool(Bool)
    case list([TemplateValue])
    case object(TemplateObject)

    /// `value` as templates read it: stored properties by name (a nil optional is absent),
    /// arrays element by element, strings, numbers and booleans as they are. Nil when the value
    /// itself is absent (a nil optional).
    public init?<T: Encodable>(encoding value: T) throws {
        guard let result = try TemplateEncoder.encode(value) else { return nil }
        self = result
    }
}

/// Named fields in the order they were written. Lookups compare a precomputed hash of the
/// name before the name itself: a page's lookups mostly miss (a card's `{{csrf}}` is searched
/// in the card, then the page, then what every page shares), and most objects are small.
public struct TemplateObject: Sendable {
    public struct Field: Sendable {
        public let name: String
        let hash: UInt64
        public var value: TemplateValue

        public init(_ name: String, _ value: TemplateValue) {
            self.name = name
            self.hash = Self.hash(name)
            self.value = value
        }

        /// FNV-1a over the name's UTF-8.
        static func hash(_ name: String) -> UInt64 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in name.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
            return h
        }
    }

    public var fields: [Field]

    public init(_ fields: [Field] = []) { self.fields = fields }

    public subscript(name: String) -> TemplateValue? {
        get { self[name, Field.hash(name)] }
        set {
            fields.removeAll { $0.name == name }
            if let newValue { fields.append(Field(name, newValue)) }
        }
    }

    subscript(name: String, hash: UInt64) -> TemplateValue? {
        for field in fields where field.hash == hash && field.name == name { return field.value }
        return nil
    }
}

/// An `Encoder` that builds a `TemplateValue`. Containers write straight into their encoder's
/// storage; a value nested as a whole (a struct, an array) gets an encoder of its own, and
/// only `nestedContainer`/`superEncoder` (which the synthesized conformances never call) are
/// resolved after the fact.
final class TemplateEncoder: Encoder {
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    private enum Storage {
        case empty
        case single(TemplateValue)
        case keyed(KeyedStorage)
        case unkeyed(UnkeyedStorage)
    }
    private var storage = Storage.empty

    final class KeyedStorage {
        var fields: [TemplateObject.Field] = []
        /// Fields whose value an encoder of their own was still writing when they were added.
        var later: [(index: Int, encoder: TemplateEncoder)] = []

        func add(_ key: String, _ value: TemplateValue?) {
            if let value { fields.append(TemplateObject.Field(key, value)) }
        }

        func add(_ key: String, later encoder: TemplateEncoder) {
            later.append((fields.count, encoder))
            fields.append(TemplateObject.Field(key, .bool(false)))
        }

        var value: TemplateValue {
            var fields = fields
            for (index, encoder) in later.reversed() {
                if let value = encoder.result { fields[index].value = value } else { fields.remove(at: index) }
            }
            return .object(TemplateObject(fields))
        }
    }

    final class UnkeyedStorage {
        var items: [TemplateValue?] = []
        var later: [(index: Int, encoder: TemplateEncoder)] = []

        func add(later encoder: TemplateEncoder) {
            later.append((items.count, encoder))
            items.append(nil)
        }

        var value: TemplateValue {
            var items = items
            for (index, encoder) in later { items[index] = encoder.result }
            return .list(items.compactMap { $0 })
        }
    }

    var result: TemplateValue? {
        switch storage {
        case .empty: nil
        case .single(let value): value
        case .keyed(let keyed): keyed.value
        case .unkeyed(let unkeyed): unkeyed.value
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> TemplateValue? {
        let encoder = TemplateEncoder()
        try value.encode(to: encoder)
        return encoder.result
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .keyed(let keyed) = storage { return KeyedEncodingContainer(Keyed(storage: keyed)) }
        let keyed = KeyedStorage()
        storage = .keyed(keyed)
        return KeyedEncodingContainer(Keyed(storage: keyed))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .unkeyed(let unkeyed) = storage { return Unkeyed(storage: unkeyed) }
        let unkeyed = UnkeyedStorage()
        storage = .unkeyed(unkeyed)
        return Unkeyed(storage: unkeyed)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { Single(encoder: self) }

    fileprivate func set(_ value: TemplateValue?) {
        storage = value.map(Storage.single) ?? .empty
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let storage: KeyedStorage
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil(forKey key: Key) throws {}
        mutating func encode(_ value: Bool, forKey key: Key) throws { storage.add(key.stringValue, .bool(value)) }
        mutating func encode(_ value: String, forKey key: Key) throws { storage.add(key.stringValue, .text(value)) }
        mutating func encode(_ value: Double, forKey key: Key) throws { storage.add(key.stringValue, .real(value)) }
        mutating func encode(_ value: Float, forKey key: Key) throws { storage.add(key.stringValue, .real(Double(value))) }
        mutating func encode(_ value: Int, forKey key: Key) throws { storage.add(key.stringValue, .integer(value)) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { storage.add(key.stringValue, .integer(Int(value))) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { storage.add(key.stringValue, .integer(Int(value))) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { storage.add(key.stringValue, .integer(Int(value))) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { storage.add(key.stringValue, .integer(Int(value))) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { storage.add(key.stringValue, integer(value)) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { storage.add(key.stringValue, .integer(Int(value))) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { storage.add(key.stringValue, .integer(Int(value))) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { storage.add(key.stringValue, .integer(Int(value))) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { storage.add(key.stringValue, integer(value)) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            storage.add(key.stringValue, try TemplateEncoder.encode(value))
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            let encoder = TemplateEncoder()
            storage.add(key.stringValue, later: encoder)
            return encoder.container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let encoder = TemplateEncoder()
            storage.add(key.stringValue, later: encoder)
            return encoder.unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }
        mutating func superEncoder(forKey key: Key) -> any Encoder {
            let encoder = TemplateEncoder()
            storage.add(key.stringValue, later: encoder)
            return encoder
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let storage: UnkeyedStorage
        var codingPath: [any CodingKey] { [] }
        var count: Int { storage.items.count }

        mutating func encodeNil() throws {}
        mutating func encode(_ value: Bool) throws { storage.items.append(.bool(value)) }
        mutating func encode(_ value: String) throws { storage.items.append(.text(value)) }
        mutating func encode(_ value: Double) throws { storage.items.append(.real(value)) }
        mutating func encode(_ value: Int) throws { storage.items.append(.integer(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws { storage.items.append(try TemplateEncoder.encode(value)) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let encoder = TemplateEncoder()
            storage.add(later: encoder)
            return encoder.container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let encoder = TemplateEncoder()
            storage.add(later: encoder)
            return encoder.unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder {
            let encoder = TemplateEncoder()
            storage.add(later: encoder)
            return encoder
        }
    }

    struct Single: SingleValueEncodingContainer {
        let encoder: TemplateEncoder
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil() throws { encoder.set(nil) }
        mutating func encode(_ value: Bool) throws { encoder.set(.bool(value)) }
        mutating func encode(_ value: String) throws { encoder.set(.text(value)) }
        mutating func encode(_ value: Double) throws { encoder.set(.real(value)) }
        mutating func encode(_ value: Float) throws { encoder.set(.real(Double(value))) }
        mutating func encode(_ value: Int) throws { encoder.set(.integer(value)) }
        mutating func encode(_ value: Int8) throws { encoder.set(.integer(Int(value))) }
        mutating func encode(_ value: Int16) throws { encoder.set(.integer(Int(value))) }
        mutating func encode(_ value: Int32) throws { encoder.set(.integer(Int(value))) }
        mutating func encode(_ value: Int64) throws { encoder.set(.integer(Int(value))) }
        mutating func encode(_ value: UInt) throws { encoder.set(integer(value)) }
        mutating func encode(_ value: UInt8) throws { encoder.set(.integer(Int(value))) }
        mutating func encode(_ value: UInt16) throws { encoder.set(.integer(Int(value))) }
        mutating func encode(_ value: UInt32) throws { encoder.set(.integer(Int(value))) }
        mutating func encode(_ value: UInt64) throws { encoder.set(integer(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws { encoder.set(try TemplateEncoder.encode(value)) }
    }
}

/// An unsigned value a page shows, as text when it exceeds `Int` (so encoding never fails).
private func integer<U: UnsignedInteger & FixedWidthInteger>(_ value: U) -> TemplateValue {
    Int(exactly: value).map(TemplateValue.integer) ?? .text(String(value))
}
