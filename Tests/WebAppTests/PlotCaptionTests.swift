import Palette
import Testing
@testable import WebApp

/// The RGB cube's caption says where red and blue point in the view drawn, so it stays true
/// when the plot is turned (by the links, or by the page's script with the same words).
@Suite("Plot captions")
struct PlotCaptionTests {
    @Test("the caption follows the view", arguments: [
        (35.0, 25.0, "RGB cube: red to the right, green up, blue towards you"),
        (80.0, 25.0, "RGB cube: red away from you, green up, blue to the right"),
        (215.0, 25.0, "RGB cube: red to the left, green up, blue away from you"),
        (-55.0, 25.0, "RGB cube: red towards you, green up, blue to the left"),
    ])
    func follows(yaw: Double, pitch: Double, caption: String) {
        let made = MovieController.rgbCaption(PalettePlots.View(yaw: yaw, pitch: pitch), .en)
        #expect(made.text == caption)
        #expect(made.template == "RGB cube: red {red}, green up, blue {blue}")
        #expect(made.directions == "to the right|to the left|towards you|away from you")
        #expect(MovieController.rgbCaption(PalettePlots.View(yaw: yaw, pitch: pitch), .ko).text.hasPrefix("RGB 정육면체: 빨강은 "))
    }

    @Test("lines and labels carry their model coordinates and the svg its kind and view, for the script to turn it; dots only their colour")
    func turnable() {
        let svg = PalettePlots.rgbCube([WeightedColour(Colour(r: 255, g: 0, b: 0), weight: 1)], view: .init(yaw: 35, pitch: 25))
        #expect(svg.contains(#"data-kind="rgb" data-yaw="35" data-pitch="25" data-size="420""#))
        #expect(svg.contains(#"data-a="-0.500 -0.500 -0.500""#) && svg.contains(#"paint-order="stroke""#))
        #expect(svg.contains(##"fill="#ff0000"/>"##)) // its place follows from its colour: nothing more per dot
        #expect(PalettePlots.hsvCylinder([], view: .init()).contains(#"data-kind="hsv""#))
    }
}
