import HTTPServer

/// The front page and the health check.
struct HomeController {
    let pages: Pages

    func mount(on router: Router) {
        router.get("/") { request in
            pages.render("home", "Artworker — photos into anime-style pictures", request, page: HomePage(styles: [
                .init(name: "Hayao", about: "Soft watercolour skies and warm light, after Hayao Miyazaki's films."),
                .init(name: "Hosoda", about: "Clean lines and bright, flat colour, after Mamoru Hosoda."),
                .init(name: "Paprika", about: "Vivid, saturated dreamscapes, after Satoshi Kon's Paprika."),
                .init(name: "Shinkai", about: "Luminous skies and crisp detail, after Makoto Shinkai."),
            ]))
        }
        // For load balancers and monitors: cheap, no database, no templates.
        router.get("/healthz") { _ in
            HTTPResponse(headers: ["Content-Type": "application/json", "Cache-Control": "no-store"],
                         body: Array(#"{"status":"ok"}"#.utf8))
        }
    }
}
