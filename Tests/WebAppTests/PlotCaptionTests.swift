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

    @Test("every dot and line carries its model coordinates and the svg its view, for the script to turn it")
    func turnable() {
        let svg = PalettePlots.rgbCube([WeightedColour(Colour(r: 255, g: 0, b: 0), weight: 1)], view: .init(yaw: 35, pitch: 25))
        #expect(svg.contains(#"data-yaw="35" data-pitch="25" data-size="420""#))
        #expect(svg.contains(##"fill="#ff0000" data-m="0.500 -0.500 -0.500"><title>#ff0000 · RGB 255, 0, 0 · HSV 0°, 100%, 100%</title></circle>"##))
        #expect(svg.contains(#"data-a="-0.500 -0.500 -0.500""#) && svg.contains(#"paint-order="stroke""#))
    }
}
