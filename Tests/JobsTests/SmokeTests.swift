import Testing
@testable import Diffusion

@Test func packageBuilds() { #expect(Bool(true)) }
