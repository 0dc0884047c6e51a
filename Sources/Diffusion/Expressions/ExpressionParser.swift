import Foundation

/// A parse error with a 1-based column (counted in Unicode scalars of the input).
public struct ExpressionError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public let column: Int

    public init(message: String, column: Int) {
        self.message = MessageText.oneLine(message)  // it may quote a long or odd identifier
        self.column = column
    }

    public var description: String { "column \(column): \(message)" }
}

/// One disjunct of an exit condition (see `ExpressionParser.parseCondition`).
public struct ConditionTerm: Sendable {
    /// The disjunct's trimmed source text, e.g. `"x > 0"`.
    public let label: String
    /// Evaluates to 1.0 when this disjunct holds, 0.0 otherwise.
    public let expression: Expression
    /// When the disjunct is a single comparison `a > b`, `a >= b`, `a < b` or `a <= b`: a level
    /// function `g` (`g = a - b` for `>`/`>=`, `g = b - a` for `<`/`<=`; `a - 0` is just `a`) with
    /// exit ⇔ `g > 0` (or `>= 0`). `nil` otherwise.
    public let level: Expression?
    /// When the term is `‖x − center‖ ≥ radius` (`expression` states the same): the ensemble
    /// tests it natively, O(d) per lane, instead of interpreting a d-term program.
    public let distance: DistanceCondition?

    public init(label: String, expression: Expression, level: Expression?, distance: DistanceCondition? = nil) {
        self.label = label
        self.expression = expression
        self.level = level
        self.distance = distance
    }
}

/// `‖x − center‖ ≥ radius` (`CompiledExitTest.fillDistances` states the order of the sum).
public struct DistanceCondition: Sendable {
    public let center: [Double]
    public let radius: Double
    public init(center: [Double], radius: Double) { self.center = center; self.radius = radius }
}

/// Lexer and recursive-descent parser for the landscape expression language.
///
/// Grammar (lowest precedence first):
/// ```
/// or         := and ('||' and)*
/// and        := not ('&&' not)*
/// not        := '!' not | comparison
/// comparison := additive (('<'|'<='|'>'|'>='|'=='|'!=') additive)?     // chaining is an error
/// additive   := multiplicative (('+'|'-') multiplicative)*
/// multiplicative := unary (('*'|'/') unary)*
/// unary      := ('-'|'+') unary | power
/// power      := primary ('^' unary)?                                  // right-associative
/// primary    := number | name | name '(' or (',' or)* ')' | '(' or ')'
/// ```
/// `-` applied directly to a literal folds into a negative constant.
public enum ExpressionParser {
    /// Maximum nesting of parentheses / function calls / prefix operators.
    public static let maxNesting = 200
    /// Maximum depth of the resulting tree (bounds the recursion of every tree walk, e.g. `x+x+…+x`).
    public static let maxTreeDepth = 1000
    /// Chains of more operands than this (`a + b + … `, `a * b / c …`) are built as balanced
    /// trees — pairwise sums, a balanced product of the numerators over one of the
    /// denominators — so their depth is logarithmic (the depth limit then bounds real nesting)
    /// and their derivatives stay O(n log n) in size. Shorter chains keep the left-to-right
    /// order as written (bit-for-bit the rounding of every expression accepted before).
    public static let balancedChainThreshold = 32
    /// Largest `N` accepted for `xN`-style variables by `inferVariables`.
    public static let maxInferredDimension = 10_000

    /// Parses `text` over `variables`; a name in `constants` stands for its value (a named
    /// constant of the landscape, `[landscape.constants]`, folded in as a literal).
    public static func parse(_ text: String, variables: [String], constants: [String: Double] = [:]) throws(ExpressionError) -> Expression {
        let lexed = try Lexer.tokenize(text)
        var parser = Parser(tokens: lexed.tokens, range: 0..<(lexed.tokens.count - 1), variables: variables,
                            constants: constants, endColumn: lexed.endColumn)
        return try parser.parseAll(emptyMessage: "empty expression").expression
    }

    /// Infers the variable list from the names used: a prefix of `["x","y","z"]` up to the highest used,
    /// or `["x1", …, "xN"]` with `N` the highest index used. No variables used → `[]`.
    /// Names in `constants` are not variables.
    public static func inferVariables(_ text: String, constants: [String: Double] = [:]) throws(ExpressionError) -> [String] {
        let lexed = try Lexer.tokenize(text)
        let tokens = lexed.tokens
        let xyz = ["x", "y", "z"]
        var maxXYZ = -1
        var maxIndexed = 0
        var firstStyle: (xyz: Bool, name: String, column: Int)?
        for (k, token) in tokens.enumerated() {
            guard case .identifier(let name) = token.kind else { continue }
            let isCall = k + 1 < tokens.count && tokens[k + 1].kind == .symbol(.lparen)
            if isCall {
                if ExpressionFunction(rawValue: name) == nil {
                    throw ExpressionError(message: "unknown function '\(name.shortened())'", column: token.column)
                }
                continue
            }
            if name == "pi" || name == "e" || constants[name] != nil { continue }
            let isXYZ: Bool
            if let i = xyz.firstIndex(of: name) {
                isXYZ = true
                maxXYZ = Swift.max(maxXYZ, i)
            } else if let n = indexedVariable(name) {
                guard n <= maxInferredDimension else {
                    throw ExpressionError(message: "variable index too large in '\(name.shortened())' (max \(maxInferredDimension))",
                                          column: token.column)
                }
                isXYZ = false
                maxIndexed = Swift.max(maxIndexed, n)
            } else {
                throw ExpressionError(message: "unknown variable '\(name.shortened())'", column: token.column)
            }
            if let first = firstStyle {
                if first.xyz != isXYZ {
                    throw ExpressionError(
                        message: "cannot mix variable styles: '\(name.shortened())' with '\(first.name)' (column \(first.column)); use x, y, z or x1 … xN",
                        column: token.column)
                }
            } else {
                firstStyle = (isXYZ, name, token.column)
            }
        }
        if maxXYZ >= 0 { return Array(xyz.prefix(maxXYZ + 1)) }
        if maxIndexed > 0 { return (1...maxIndexed).map { "x\($0)" } }
        return []
    }

    /// `x<N>` with N ≥ 1 written without leading zeros.
    private static func indexedVariable(_ name: String) -> Int? {
        guard name.count >= 2, name.first == "x" else { return nil }
        let digits = name.dropFirst()
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), digits.first != "0", digits.count <= 9 else { return nil }
        return Int(digits)
    }

    /// Parses an exit condition, splitting it at top-level `||` into disjuncts.
    public static func parseCondition(_ text: String, variables: [String], constants: [String: Double] = [:]) throws(ExpressionError) -> [ConditionTerm] {
        let lexed = try Lexer.tokenize(text)
        let tokens = lexed.tokens
        let endIndex = tokens.count - 1  // index of the .end token
        if endIndex == 0 { throw ExpressionError(message: "empty expression", column: 1) }
        var ranges: [Range<Int>] = []
        var depth = 0
        var start = 0
        for k in 0..<endIndex {
            switch tokens[k].kind {
            case .symbol(.lparen): depth += 1
            case .symbol(.rparen): depth -= 1
            case .symbol(.orOr) where depth == 0:
                ranges.append(start..<k)
                start = k + 1
            default: break
            }
        }
        ranges.append(start..<endIndex)
        var terms: [ConditionTerm] = []
        for range in ranges {
            if range.isEmpty {
                // Point at the '||' that has nothing on one side.
                let column = range.lowerBound < endIndex ? tokens[range.lowerBound].column
                    : tokens[range.lowerBound - 1].column
                throw ExpressionError(message: "missing condition next to '||'", column: column)
            }
            var parser = Parser(tokens: tokens, range: range, variables: variables, constants: constants, endColumn: lexed.endColumn)
            let expression = try parser.parseAll(emptyMessage: "empty expression").expression
            let first = tokens[range.lowerBound], last = tokens[range.upperBound - 1]
            let label = String(String.UnicodeScalarView(lexed.scalars[first.start..<last.end]))
            var level: Expression?
            if case .binary(let op, let a, let b) = expression {
                switch op {
                case .greater, .greaterEqual: level = Simplifier.binary(.subtract, a, b)
                case .less, .lessEqual: level = Simplifier.binary(.subtract, b, a)
                default: level = nil
                }
            }
            terms.append(ConditionTerm(label: label, expression: expression, level: level))
        }
        return terms
    }
}

// MARK: - Lexer

enum Symbol: String, Equatable {
    case plus = "+", minus = "-", star = "*", slash = "/", caret = "^"
    case lparen = "(", rparen = ")", comma = ","
    case less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">=", equalEqual = "==", notEqual = "!="
    case andAnd = "&&", orOr = "||", bang = "!"
}

struct Token {
    enum Kind: Equatable {
        case number(Double)
        case identifier(String)
        case symbol(Symbol)
        case end
    }
    let kind: Kind
    /// Scalar offsets [start, end) in the input.
    let start: Int
    let end: Int
    var column: Int { start + 1 }

    var display: String {
        switch kind {
        case .number: return "number"
        case .identifier(let s): return "'\(s)'"
        case .symbol(let s): return "'\(s.rawValue)'"
        case .end: return "end of expression"
        }
    }
}

enum Lexer {
    struct Output {
        let scalars: [Unicode.Scalar]
        /// Always ends with one `.end` token.
        let tokens: [Token]
        var endColumn: Int { scalars.count + 1 }
    }

    @inline(__always) static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 48 && c.value <= 57 }
    @inline(__always) static func isIdentStart(_ c: Unicode.Scalar) -> Bool {
        (c.value >= 65 && c.value <= 90) || (c.value >= 97 && c.value <= 122) || c == "_"
    }
    @inline(__always) static func isIdentContinue(_ c: Unicode.Scalar) -> Bool { isIdentStart(c) || isDigit(c) }

    static func describe(_ c: Unicode.Scalar) -> String { c.escaped(asASCII: false) }

    static func tokenize(_ text: String) throws(ExpressionError) -> Output {
        let s = Array(text.unicodeScalars)
        var tokens: [Token] = []
        var i = 0
        let n = s.count
        while i < n {
            let c = s[i]
            if c.properties.isWhitespace { i += 1; continue }
            let start = i
            if isDigit(c) || (c == "." && i + 1 < n && isDigit(s[i + 1])) {
                var intPart = "", fracPart = "", expPart = ""
                while i < n, isDigit(s[i]) { intPart.unicodeScalars.append(s[i]); i += 1 }
                if i < n, s[i] == "." {
                    i += 1
                    while i < n, isDigit(s[i]) { fracPart.unicodeScalars.append(s[i]); i += 1 }
                }
                if i < n, s[i] == "e" || s[i] == "E" {
                    var j = i + 1
                    var sign = ""
                    if j < n, s[j] == "+" || s[j] == "-" { sign = s[j] == "-" ? "-" : ""; j += 1 }
                    if j < n, isDigit(s[j]) {
                        while j < n, isDigit(s[j]) { expPart.unicodeScalars.append(s[j]); j += 1 }
                        expPart = "e" + sign + expPart
                        i = j
                    }
                }
                if i < n, isIdentContinue(s[i]) || s[i] == "." {
                    throw ExpressionError(
                        message: "unexpected '\(describe(s[i]))' after number (use '*' to multiply)", column: i + 1)
                }
                let literal = (intPart.isEmpty ? "0" : intPart) + "." + (fracPart.isEmpty ? "0" : fracPart) + expPart
                guard let value = Double(literal), value.isFinite else {
                    throw ExpressionError(message: "number out of range", column: start + 1)
                }
                tokens.append(Token(kind: .number(value), start: start, end: i))
                continue
            }
            if isIdentStart(c) {
                var name = ""
                while i < n, isIdentContinue(s[i]) { name.unicodeScalars.append(s[i]); i += 1 }
                tokens.append(Token(kind: .identifier(name), start: start, end: i))
                continue
            }
            let next: Unicode.Scalar? = i + 1 < n ? s[i + 1] : nil
            let symbol: Symbol
            var length = 1
            switch c {
            case "+": symbol = .plus
            case "-": symbol = .minus
            case "*": symbol = .star
            case "/": symbol = .slash
            case "^": symbol = .caret
            case "(": symbol = .lparen
            case ")": symbol = .rparen
            case ",": symbol = .comma
            case "<":
                if next == "=" { symbol = .lessEqual; length = 2 } else { symbol = .less }
            case ">":
                if next == "=" { symbol = .greaterEqual; length = 2 } else { symbol = .greater }
            case "=":
                guard next == "=" else {
                    throw ExpressionError(message: "unexpected character '=' (use '==' to compare)", column: i + 1)
                }
                symbol = .equalEqual; length = 2
            case "!":
                if next == "=" { symbol = .notEqual; length = 2 } else { symbol = .bang }
            case "&":
                guard next == "&" else {
                    throw ExpressionError(message: "unexpected character '&' (use '&&')", column: i + 1)
                }
                symbol = .andAnd; length = 2
            case "|":
                guard next == "|" else {
                    throw ExpressionError(message: "unexpected character '|' (use '||')", column: i + 1)
                }
                symbol = .orOr; length = 2
            default:
                throw ExpressionError(message: "unexpected character '\(describe(c))'", column: i + 1)
            }
            i += length
            tokens.append(Token(kind: .symbol(symbol), start: start, end: i))
        }
        tokens.append(Token(kind: .end, start: n, end: n))
        return Output(scalars: s, tokens: tokens)
    }
}

// MARK: - Parser

private struct Parser {
    /// An expression with its tree depth.
    struct Node {
        var expression: Expression
        var depth: Int
    }

    let tokens: [Token]
    let range: Range<Int>
    let variables: [String]
    /// Each variable's first index, so a lookup does not scan d names (a network's exit test
    /// names every one of its d parameters: a scan made parsing O(d²)).
    let variableIndex: [String: Int]
    let constants: [String: Double]
    let endColumn: Int
    var position: Int
    var nesting = 0

    init(tokens: [Token], range: Range<Int>, variables: [String], constants: [String: Double] = [:], endColumn: Int) {
        self.tokens = tokens
        self.range = range
        self.variables = variables
        var index: [String: Int] = [:]
        index.reserveCapacity(variables.count)
        for (k, name) in variables.enumerated() where index[name] == nil { index[name] = k }
        self.variableIndex = index
        self.constants = constants
        self.endColumn = endColumn
        self.position = range.lowerBound
    }

    var atEnd: Bool { position >= range.upperBound }

    /// The current token; past the range this is a synthetic end token.
    var current: Token {
        atEnd ? Token(kind: .end, start: endColumnIndex, end: endColumnIndex) : tokens[position]
    }

    /// Scalar offset reported for "end": the start of the token after the range (e.g. the `||`).
    var endColumnIndex: Int {
        range.upperBound < tokens.count ? tokens[range.upperBound].start : endColumn - 1
    }

    mutating func advance() { position += 1 }

    func currentSymbol() -> Symbol? {
        if case .symbol(let s) = current.kind { return s }
        return nil
    }

    func unexpected() -> ExpressionError {
        let t = current
        if case .end = t.kind { return ExpressionError(message: "unexpected end of expression", column: t.column) }
        return ExpressionError(message: "unexpected \(t.display)", column: t.column)
    }

    mutating func parseAll(emptyMessage: String) throws(ExpressionError) -> Node {
        if range.isEmpty {
            throw ExpressionError(message: emptyMessage, column: range.lowerBound < tokens.count - 1 ? current.column : 1)
        }
        let node = try parseOr()
        if !atEnd {
            if currentSymbol() == .rparen {
                throw ExpressionError(message: "unmatched ')'", column: current.column)
            }
            throw unexpected()
        }
        return node
    }

    func make(_ e: Expression, depth: Int, column: Int) throws(ExpressionError) -> Node {
        if depth > ExpressionParser.maxTreeDepth {
            throw ExpressionError(message: "expression too deep (more than \(ExpressionParser.maxTreeDepth) levels)",
                                  column: column)
        }
        return Node(expression: e, depth: depth)
    }

    mutating func enter() throws(ExpressionError) {
        nesting += 1
        if nesting > ExpressionParser.maxNesting {
            throw ExpressionError(message: "expression nested too deeply (more than \(ExpressionParser.maxNesting) levels)",
                                  column: current.column)
        }
    }

    mutating func leave() { nesting -= 1 }

    mutating func binary(_ op: BinaryOperator, _ a: Node, _ b: Node, column: Int) throws(ExpressionError) -> Node {
        try make(.binary(op, a.expression, b.expression), depth: Swift.max(a.depth, b.depth) + 1, column: column)
    }

    mutating func parseOr() throws(ExpressionError) -> Node {
        var left = try parseAnd()
        while currentSymbol() == .orOr {
            let column = current.column
            advance()
            let right = try parseAnd()
            left = try binary(.or, left, right, column: column)
        }
        return left
    }

    mutating func parseAnd() throws(ExpressionError) -> Node {
        var left = try parseNot()
        while currentSymbol() == .andAnd {
            let column = current.column
            advance()
            let right = try parseNot()
            left = try binary(.and, left, right, column: column)
        }
        return left
    }

    mutating func parseNot() throws(ExpressionError) -> Node {
        if currentSymbol() == .bang {
            let column = current.column
            advance()
            try enter()
            let operand = try parseNot()
            leave()
            return try make(.unary(.not, operand.expression), depth: operand.depth + 1, column: column)
        }
        return try parseComparison()
    }

    static func comparison(_ s: Symbol?) -> BinaryOperator? {
        switch s {
        case .less: return .less
        case .lessEqual: return .lessEqual
        case .greater: return .greater
        case .greaterEqual: return .greaterEqual
        case .equalEqual: return .equal
        case .notEqual: return .notEqual
        default: return nil
        }
    }

    mutating func parseComparison() throws(ExpressionError) -> Node {
        let left = try parseAdditive()
        guard let op = Parser.comparison(currentSymbol()) else { return left }
        let column = current.column
        advance()
        let right = try parseAdditive()
        if Parser.comparison(currentSymbol()) != nil {
            throw ExpressionError(message: "chained comparison; combine comparisons with '&&'", column: current.column)
        }
        return try binary(op, left, right, column: column)
    }


    mutating func parseAdditive() throws(ExpressionError) -> Node {
        var operands = [try parseMultiplicative()]
        var ops: [(op: BinaryOperator, column: Int)] = []
        while let s = currentSymbol(), s == .plus || s == .minus {
            ops.append((s == .plus ? .add : .subtract, current.column))
            advance()
            operands.append(try parseMultiplicative())
        }
        if operands.count <= ExpressionParser.balancedChainThreshold {
            var left = operands[0]
            for (k, o) in ops.enumerated() { left = try binary(o.op, left, operands[k + 1], column: o.column) }
            return left
        }
        // a − b = a + (−b) exactly (negation is exact): sum the signed terms pairwise
        var terms = [operands[0]]
        for (k, o) in ops.enumerated() {
            let t = operands[k + 1]
            terms.append(o.op == .add ? t : try make(.unary(.negate, t.expression), depth: t.depth + 1, column: o.column))
        }
        return try balanced(.add, terms[...], column: ops[0].column)
    }

    mutating func parseMultiplicative() throws(ExpressionError) -> Node {
        var operands = [try parseUnary()]
        var ops: [(op: BinaryOperator, column: Int)] = []
        while let s = currentSymbol(), s == .star || s == .slash {
            ops.append((s == .star ? .multiply : .divide, current.column))
            advance()
            operands.append(try parseUnary())
        }
        if operands.count <= ExpressionParser.balancedChainThreshold {
            var left = operands[0]
            for (k, o) in ops.enumerated() { left = try binary(o.op, left, operands[k + 1], column: o.column) }
            return left
        }
        var numerators = [operands[0]], denominators: [Node] = []
        for (k, o) in ops.enumerated() {
            if o.op == .multiply { numerators.append(operands[k + 1]) } else { denominators.append(operands[k + 1]) }
        }
        let top = try balanced(.multiply, numerators[...], column: ops[0].column)
        guard !denominators.isEmpty else { return top }
        return try binary(.divide, top, try balanced(.multiply, denominators[...], column: ops[0].column), column: ops[0].column)
    }

    /// `op` over `nodes` as a balanced binary tree (depth ⌈log₂ n⌉ above the deepest operand).
    mutating func balanced(_ op: BinaryOperator, _ nodes: ArraySlice<Node>, column: Int) throws(ExpressionError) -> Node {
        if nodes.count == 1 { return nodes[nodes.startIndex] }
        let mid = nodes.startIndex + nodes.count / 2
        let a = try balanced(op, nodes[nodes.startIndex..<mid], column: column)
        let b = try balanced(op, nodes[mid...], column: column)
        return try binary(op, a, b, column: column)
    }

    mutating func parseUnary() throws(ExpressionError) -> Node {
        if let s = currentSymbol(), s == .minus || s == .plus {
            let column = current.column
            advance()
            try enter()
            let operand = try parseUnary()
            leave()
            if s == .plus { return operand }
            if case .constant(let c) = operand.expression { return Node(expression: .constant(-c), depth: operand.depth) }
            return try make(.unary(.negate, operand.expression), depth: operand.depth + 1, column: column)
        }
        if currentSymbol() == .bang {
            throw ExpressionError(message: "'!' must be applied to a condition; use parentheses, e.g. '(!a)'",
                                  column: current.column)
        }
        return try parsePower()
    }

    mutating func parsePower() throws(ExpressionError) -> Node {
        let base = try parsePrimary()
        guard currentSymbol() == .caret else { return base }
        let column = current.column
        advance()
        try enter()
        let exponent = try parseUnary()
        leave()
        return try binary(.power, base, exponent, column: column)
    }

    mutating func parsePrimary() throws(ExpressionError) -> Node {
        let token = current
        switch token.kind {
        case .number(let v):
            advance()
            return Node(expression: .constant(v), depth: 1)
        case .symbol(.lparen):
            advance()
            try enter()
            let inner = try parseOr()
            leave()
            guard currentSymbol() == .rparen else {
                if atEnd { throw ExpressionError(message: "expected ')'", column: current.column) }
                throw ExpressionError(message: "expected ')' but found \(current.display)", column: current.column)
            }
            advance()
            return inner
        case .identifier(let name):
            advance()
            if currentSymbol() == .lparen { return try parseCall(name: name, token: token) }
            if let index = variableIndex[name] { return Node(expression: .variable(index), depth: 1) }
            if let value = constants[name] { return Node(expression: .constant(value), depth: 1) }
            if name == "pi" { return Node(expression: .constant(Double.pi), depth: 1) }
            if name == "e" { return Node(expression: .constant(Foundation.exp(1.0)), depth: 1) }
            if ExpressionFunction(rawValue: name) != nil {
                throw ExpressionError(message: "function '\(name.shortened())' needs arguments in parentheses", column: token.column)
            }
            throw ExpressionError(message: "unknown variable '\(name.shortened())'", column: token.column)
        case .end:
            throw unexpected()
        case .symbol:
            throw unexpected()
        }
    }

    mutating func parseCall(name: String, token: Token) throws(ExpressionError) -> Node {
        guard let function = ExpressionFunction(rawValue: name) else {
            throw ExpressionError(message: "unknown function '\(name.shortened())'", column: token.column)
        }
        advance()  // '('
        try enter()
        var args: [Expression] = []
        var depth = 0
        if currentSymbol() != .rparen {
            while true {
                let arg = try parseOr()
                args.append(arg.expression)
                depth = Swift.max(depth, arg.depth)
                if currentSymbol() == .comma {
                    advance()
                    continue
                }
                break
            }
        }
        guard currentSymbol() == .rparen else {
            if atEnd { throw ExpressionError(message: "expected ')'", column: current.column) }
            throw ExpressionError(message: "expected ')' or ',' but found \(current.display)", column: current.column)
        }
        advance()
        leave()
        guard args.count == function.arity else {
            let plural = function.arity == 1 ? "argument" : "arguments"
            throw ExpressionError(message: "'\(name.shortened())' takes \(function.arity) \(plural), got \(args.count)",
                                  column: token.column)
        }
        return try make(.call(function, args), depth: depth + 1, column: token.column)
    }
}
