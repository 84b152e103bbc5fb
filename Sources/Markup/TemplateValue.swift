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

/// Named fields in the order they were written. A lookup compares each field's precomputed
/// name hash before its name: a page's lookups mostly miss (a card's `{{csrf}}` is searched in
/// the card, then the page, then what every page shares), and most objects are small.
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

    public private(set) var fields: [Field]

    public init(_ fields: [Field] = []) { self.fields = fields }

    init(reservingCapacity capacity: Int) {
        fields = []
        fields.reserveCapacity(capacity)
    }

    mutating func append(_ name: String, _ value: TemplateValue) { fields.append(Field(name, value)) }

    /// A field's value; setting one replaces the field of that name, nil removes it.
    public subscript(name: String) -> TemplateValue? {
        get { index(of: name, hash: Field.hash(name)).map { fields[$0].value } }
        set {
            if let i = index(of: name, hash: Field.hash(name)) { fields.remove(at: i) }
            if let newValue { append(name, newValue) }
        }
    }

    func index(of name: String, hash: UInt64) -> Int? {
        fields.withUnsafeBufferPointer { fields in
            for i in fields.indices where fields[i].hash == hash && fields[i].name == name { return i }
            return nil
        }
    }
}

/// An `Encoder` that builds a `TemplateValue`. Containers write straight into their encoder;
/// a value nested as a whole (a struct, an array) gets an encoder of its own, and only
/// `nestedContainer`/`superEncoder` (which the synthesized conformances never call) are
/// resolved after the fact.
final class TemplateEncoder: Encoder {
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    private enum Kind { case empty, single, keyed, unkeyed }
    private var kind = Kind.empty
    private var single: TemplateValue? = nil
    fileprivate var object = TemplateObject()
    fileprivate var items: [TemplateValue?] = []
    /// Fields and items whose value an encoder of their own was still writing when added.
    private var laterFields: [(name: String, encoder: TemplateEncoder)] = []
    private var laterItems: [(index: Int, encoder: TemplateEncoder)] = []

    var result: TemplateValue? {
        switch kind {
        case .empty: return nil
        case .single: return single
        case .keyed:
            var object = object
            for (name, encoder) in laterFields { object[name] = encoder.result }
            return .object(object)
        case .unkeyed:
            var items = items
            for (index, encoder) in laterItems { items[index] = encoder.result }
            return .list(items.compactMap { $0 })
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> TemplateValue? {
        let encoder = TemplateEncoder()
        try value.encode(to: encoder)
        return encoder.result
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if kind != .keyed { object = TemplateObject(reservingCapacity: 16) }
        kind = .keyed
        return KeyedEncodingContainer(Keyed(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        kind = .unkeyed
        return Unkeyed(encoder: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { Single(encoder: self) }

    fileprivate func set(_ value: TemplateValue?) {
        kind = value == nil ? .empty : .single
        single = value
    }

    fileprivate func add(_ key: String, _ value: TemplateValue?) {
        if let value { object.append(key, value) }
    }

    fileprivate func add(_ key: String, later encoder: TemplateEncoder) { laterFields.append((key, encoder)) }

    fileprivate func addItem(later encoder: TemplateEncoder) {
        laterItems.append((items.count, encoder))
        items.append(nil)
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: TemplateEncoder
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil(forKey key: Key) throws {}
        mutating func encode(_ value: Bool, forKey key: Key) throws { encoder.add(key.stringValue, .bool(value)) }
        mutating func encode(_ value: String, forKey key: Key) throws { encoder.add(key.stringValue, .text(value)) }
        mutating func encode(_ value: Double, forKey key: Key) throws { encoder.add(key.stringValue, .real(value)) }
        mutating func encode(_ value: Float, forKey key: Key) throws { encoder.add(key.stringValue, .real(Double(value))) }
        mutating func encode(_ value: Int, forKey key: Key) throws { encoder.add(key.stringValue, .integer(value)) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { encoder.add(key.stringValue, .integer(Int(value))) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { encoder.add(key.stringValue, .integer(Int(value))) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { encoder.add(key.stringValue, .integer(Int(value))) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { encoder.add(key.stringValue, .integer(Int(value))) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { encoder.add(key.stringValue, integer(value)) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { encoder.add(key.stringValue, .integer(Int(value))) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { encoder.add(key.stringValue, .integer(Int(value))) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { encoder.add(key.stringValue, .integer(Int(value))) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { encoder.add(key.stringValue, integer(value)) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            encoder.add(key.stringValue, try TemplateEncoder.encode(value))
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            let encoder = TemplateEncoder()
            self.encoder.add(key.stringValue, later: encoder)
            return encoder.container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let encoder = TemplateEncoder()
            self.encoder.add(key.stringValue, later: encoder)
            return encoder.unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }
        mutating func superEncoder(forKey key: Key) -> any Encoder {
            let encoder = TemplateEncoder()
            self.encoder.add(key.stringValue, later: encoder)
            return encoder
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let encoder: TemplateEncoder
        var codingPath: [any CodingKey] { [] }
        var count: Int { encoder.items.count }

        mutating func encodeNil() throws {}
        mutating func encode(_ value: Bool) throws { encoder.items.append(.bool(value)) }
        mutating func encode(_ value: String) throws { encoder.items.append(.text(value)) }
        mutating func encode(_ value: Double) throws { encoder.items.append(.real(value)) }
        mutating func encode(_ value: Int) throws { encoder.items.append(.integer(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws { encoder.items.append(try TemplateEncoder.encode(value)) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let encoder = TemplateEncoder()
            self.encoder.addItem(later: encoder)
            return encoder.container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let encoder = TemplateEncoder()
            self.encoder.addItem(later: encoder)
            return encoder.unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder {
            let encoder = TemplateEncoder()
            self.encoder.addItem(later: encoder)
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
