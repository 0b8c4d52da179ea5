"""Generate the synthetic demo reviews in scraper_worker/data/ (the `fixtures` source).

Deterministic: the same code writes the same bytes, so the committed files can be checked
against it (`python -m scraper_worker.make_fixtures --check`). Every review is invented from
the sentence templates below; no store was scraped.

Each file holds one app: `{"app_id", "title", "columns", "reviews": [[...], ...]}`, one review
per line as a row in the order of `columns`, newest first. `lang` is the language the review was
written in (informational; the service is not sent it).

Five Google Play apps (package names) and one App Store app (a made-up numeric id, 6449012733,
whose reviews have a title line, as the App Store feed's do, and always an app version). During
each app's bad release ("incident") negative reviews double, and most of them are about the
app's first listed problem, so the summary's top issue rises with that version.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
COLUMNS = (
    "review_id", "at", "score", "user_name", "thumbs_up", "app_version", "reply", "lang", "content",
)  # fmt: skip
END = datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC)  # the newest review is at most this recent
DAYS = 60
LANGUAGES = {"en": 0.80, "es": 0.06, "de": 0.05, "fr": 0.05, "pt": 0.04}


@dataclass(frozen=True)
class App:
    app_id: str
    title: str
    name: str  # how reviewers call it
    count: int
    mix: tuple[float, float, float]  # positive, neutral, negative
    versions: tuple[tuple[str, int], ...]  # (version, release day counted from the start)
    incident: tuple[int, int]  # days with a bad release: negative reviews double
    positive: tuple[str, ...]
    neutral: tuple[str, ...]
    negative: tuple[str, ...]
    support: str = field(default="our support team")
    store: str = "google-play"  # or "app-store": a title line, and always a version


APPS = (
    App(
        app_id="com.spotify.music",
        title="Spotify: Music and Podcasts",
        name="Spotify",
        count=320,
        mix=(0.55, 0.20, 0.25),
        versions=(("9.0.96.510", -30), ("9.1.2.1140", 12), ("9.1.6.1027", 34), ("9.1.10.886", 51)),
        incident=(34, 40),
        positive=(
            "Discover Weekly keeps finding songs I actually love.",
            "Offline downloads work perfectly on long flights.",
            "Having podcasts and music in one place is so convenient.",
            "The sound quality is excellent even on mobile data.",
            "Sharing playlists with friends is really easy.",
            "The daily mixes are spot on for my taste.",
            "Connecting to my speaker with Spotify Connect is seamless.",
        ),
        neutral=(
            "Search works, but it could be smarter about podcasts.",
            "Lyrics are nice but not available for every song.",
            "Shuffle feels a bit repetitive sometimes.",
            "The new home screen takes some getting used to.",
            "Premium is good value, although the price keeps going up.",
        ),
        negative=(
            "There are way too many ads on the free plan.",
            "The app keeps crashing when I turn on shuffle.",
            "My downloaded playlists disappear after every update.",
            "It drains my battery even when nothing is playing.",
            "The new home screen is cluttered and confusing.",
            "Songs stop playing as soon as I lock the screen.",
            "The premium price went up again and nothing got better.",
        ),
    ),
    App(
        app_id="com.duolingo",
        title="Duolingo: Language Lessons",
        name="Duolingo",
        count=280,
        mix=(0.62, 0.18, 0.20),
        versions=(("6.12.4", -20), ("6.14.3", 9), ("6.16.5", 30), ("6.18.2", 49)),
        incident=(9, 15),
        positive=(
            "The short lessons fit perfectly into my lunch break.",
            "Keeping my streak alive really motivates me to practise.",
            "The speaking exercises improved my pronunciation a lot.",
            "I finally understand Spanish grammar thanks to the stories.",
            "The leaderboard makes learning feel like a game.",
            "The owl reminders are funny and actually work.",
        ),
        neutral=(
            "The lessons are fun, but the grammar explanations are too short.",
            "Good for vocabulary, less useful for real conversations.",
            "The new learning path is fine, I miss the old tree though.",
            "Super is nice but not worth the price for me.",
        ),
        negative=(
            "Losing hearts for every tiny typo is so frustrating.",
            "There is an ad after every single lesson.",
            "My streak was reset even though I practised that day.",
            "The speech recognition never accepts my answers.",
            "The app freezes at the end of every lesson since the update.",
            "Too many notifications begging me to buy Super.",
        ),
    ),
    App(
        app_id="com.whatsapp",
        title="WhatsApp Messenger",
        name="WhatsApp",
        count=360,
        mix=(0.50, 0.20, 0.30),
        versions=(("2.26.18.74", -25), ("2.26.20.79", 8), ("2.26.22.81", 27), ("2.26.24.76", 46)),
        incident=(46, 52),
        positive=(
            "Messages are delivered instantly, even on a slow connection.",
            "Video calls with my family abroad are crystal clear.",
            "Group chats make organising events really simple.",
            "End-to-end encryption gives me peace of mind.",
            "Voice messages are handy when I am driving.",
            "Chat backups to Google Drive restored everything on my new phone.",
        ),
        neutral=(
            "It works fine, but the status feature is useless to me.",
            "Calls are okay, sometimes the video freezes for a second.",
            "Good app, I just wish I could use it on two phones.",
            "The new channels tab is there, I never open it.",
        ),
        negative=(
            "Notifications arrive hours late since the last update.",
            "The chat backup gets stuck at zero percent every night.",
            "Voice calls keep dropping after a few minutes.",
            "Media downloads fail all the time on mobile data.",
            "The app crashes when I open a group with many photos.",
            "Stickers and GIFs take forever to load.",
        ),
    ),
    App(
        app_id="com.netflix.mediaclient",
        title="Netflix",
        name="Netflix",
        count=300,
        mix=(0.45, 0.22, 0.33),
        versions=(("9.12.0", -28), ("9.14.1", 6), ("9.16.0", 25), ("9.18.2", 44)),
        incident=(25, 31),
        positive=(
            "Downloads let me watch my shows on the train without data.",
            "The streaming quality is amazing on my tablet.",
            "So many great series and documentaries to choose from.",
            "Separate profiles keep the kids' shows out of my list.",
            "Casting to the TV works every single time.",
            "Subtitles in many languages help me learn English.",
        ),
        neutral=(
            "Good catalogue, but the best shows leave too quickly.",
            "The app is fine, the recommendations are hit and miss.",
            "Streaming is smooth, the interface feels a bit busy.",
            "The ad plan is cheaper, though the ads are long.",
        ),
        negative=(
            "Videos keep buffering even on a fast connection.",
            "The extra member fee for password sharing is ridiculous.",
            "Subtitles are out of sync on almost every episode.",
            "Downloads expire before I get a chance to watch them.",
            "The app logs me out every other day.",
            "Casting to the TV stopped working after the update.",
        ),
    ),
    App(
        app_id="org.wikipedia",
        title="Wikipedia",
        name="Wikipedia",
        count=240,
        mix=(0.72, 0.16, 0.12),
        versions=(("2.7.50520", -35), ("2.7.50530", 14), ("2.7.50541", 41)),
        incident=(41, 46),
        positive=(
            "Reading lists are perfect for saving articles for later.",
            "Offline articles are a lifesaver when I travel.",
            "Dark mode makes late night reading comfortable.",
            "The Explore feed always shows me something interesting.",
            "Search is fast and finds exactly what I need.",
            "Link previews let me peek at articles without losing my place.",
        ),
        neutral=(
            "Works well, the donation banners are a little pushy.",
            "Good for reading, editing on a phone is still awkward.",
            "The app is fine, I would like more font options.",
        ),
        negative=(
            "Articles load slowly and images are often missing.",
            "My saved reading lists vanished after syncing.",
            "The donation banner covers the article text.",
            "The app crashes when I open the table of contents.",
            "Search results jump around while I am typing.",
        ),
    ),
)

APPS += (
    App(
        app_id="6449012733",
        title="Trailmark: Hiking & Trail Maps",
        name="Trailmark",
        count=260,
        mix=(0.55, 0.17, 0.28),
        versions=(("4.8.1", -40), ("4.9.0", 10), ("5.0.0", 31), ("5.0.2", 45)),
        incident=(31, 38),
        positive=(
            "Offline maps saved me when I lost signal on the mountain.",
            "The GPS tracking is accurate even under thick trees.",
            "Trail reviews from other hikers help me pick the right route.",
            "The elevation profile shows exactly how hard the climb will be.",
            "Route planning on the map is quick and easy.",
            "Syncing with my Apple Watch works flawlessly.",
        ),
        neutral=(
            "The maps are good, but the search could be better.",
            "Useful trail info, the interface takes some getting used to.",
            "Pro is nice to have, though a bit expensive for what it adds.",
            "Works fine, I wish there were more trails in my area.",
        ),
        negative=(
            "Offline maps fail to download since version 5.0.",
            "The GPS track jumps around and the distance is wrong.",
            "It drains my battery in two hours of hiking.",
            "The subscription renewed without any warning.",
            "The watch app keeps disconnecting from the phone.",
            "Too many pop-ups asking me to upgrade to Pro.",
        ),
        store="app-store",
    ),
)

OPENERS = {
    "positive": (
        "Love this app!",
        "Great app.",
        "Absolutely fantastic.",
        "Best app of its kind.",
        "Works really well.",
        "Five stars from me.",
        "I use {app} every day and it never disappoints.",
        "{app} is brilliant.",
    ),
    "neutral": (
        "It's okay.",
        "Decent app overall.",
        "Not bad, not great.",
        "{app} does the job.",
        "Mixed feelings about the latest version.",
    ),
    "negative": (
        "Really disappointed.",
        "Terrible experience lately.",
        "This update ruined everything.",
        "Worst version of {app} so far.",
        "I'm about to uninstall.",
        "{app} used to be good.",
    ),
}
CLOSERS = {
    "positive": ("Highly recommend it.", "Keep up the good work!", "Thank you to the whole team."),
    "neutral": ("Could be better with a few fixes.", "Hoping the next update improves things."),
    "negative": ("Please fix this as soon as possible.", "Very frustrating.", "Fix it, please."),
}
REPLY_EN = (
    "Hi {user}, we're sorry about this. Please update to the latest version and contact"
    " {support} if the problem continues."
)

# Whole reviews in other languages, written as real sentences: (sentences, closers) per sentiment.
FOREIGN = {
    "es": {
        "positive": (
            "Me encanta esta aplicación, la uso todos los días.",
            "Funciona muy bien y es muy fácil de usar.",
            "La mejor aplicación que he probado, la recomiendo totalmente.",
            "Todo funciona rápido y sin problemas.",
            "{app} me ha facilitado mucho la vida.",
        ),
        "neutral": (
            "Está bien, pero le faltan algunas funciones.",
            "Funciona correctamente aunque a veces es un poco lenta.",
            "No está mal, aunque la versión anterior me gustaba más.",
            "Es una aplicación normal que cumple con lo básico.",
        ),
        "negative": (
            "Desde la última actualización la aplicación se cierra sola.",
            "Hay demasiados anuncios y es muy molesto.",
            "No funciona, siempre aparece un error al iniciar.",
            "Muy decepcionado, antes funcionaba mucho mejor.",
            "Consume mucha batería y se queda congelada.",
        ),
        "closers": {
            "positive": ("¡Muchas gracias!", "Cinco estrellas sin duda."),
            "neutral": ("Espero que lo mejoren pronto.",),
            "negative": ("Por favor, arreglen este problema.", "Voy a desinstalarla."),
        },
        "reply": "Hola {user}, sentimos las molestias. Actualiza la aplicación y escríbenos si el"
        " problema continúa.",
        "names": ("Lucía", "Carlos", "Mariana", "Javier", "Sofía", "Diego", "Carmen", "Andrés"),
    },
    "de": {
        "positive": (
            "Ich liebe diese App und benutze sie jeden Tag.",
            "Funktioniert einwandfrei und ist sehr übersichtlich.",
            "Die beste App ihrer Art, absolut empfehlenswert.",
            "Alles läuft schnell und zuverlässig.",
            "Mit {app} macht es einfach Spaß.",
        ),
        "neutral": (
            "Ganz okay, aber es fehlen einige Funktionen.",
            "Die App funktioniert, ist aber manchmal etwas langsam.",
            "Nicht schlecht, aber die alte Version war besser.",
            "Eine solide App, mehr aber auch nicht.",
        ),
        "negative": (
            "Seit dem letzten Update stürzt die App ständig ab.",
            "Viel zu viel Werbung, das nervt wirklich.",
            "Die App startet nicht mehr, es kommt immer eine Fehlermeldung.",
            "Sehr enttäuschend, früher war alles besser.",
            "Der Akku ist nach kurzer Zeit leer.",
        ),
        "closers": {
            "positive": ("Vielen Dank an die Entwickler!", "Weiter so!"),
            "neutral": ("Hoffentlich wird es mit dem nächsten Update besser.",),
            "negative": ("Bitte behebt das schnell.", "Ich werde sie deinstallieren."),
        },
        "reply": "Hallo {user}, das tut uns leid. Bitte aktualisiere die App und melde dich bei"
        " uns, wenn das Problem weiterhin besteht.",
        "names": ("Lukas", "Anna", "Jonas", "Laura", "Felix", "Katrin", "Stefan", "Julia"),
    },
    "fr": {
        "positive": (
            "J'adore cette application, je l'utilise tous les jours.",
            "Elle fonctionne parfaitement et elle est très facile à utiliser.",
            "La meilleure application de ce genre, je la recommande vivement.",
            "Tout est rapide et fluide.",
            "{app} me simplifie vraiment la vie.",
        ),
        "neutral": (
            "C'est correct, mais il manque quelques fonctionnalités.",
            "L'application fonctionne, mais elle est parfois un peu lente.",
            "Pas mal, même si je préférais l'ancienne version.",
            "Une application correcte, sans plus.",
        ),
        "negative": (
            "Depuis la dernière mise à jour, l'application plante sans arrêt.",
            "Beaucoup trop de publicités, c'est vraiment pénible.",
            "Impossible de l'ouvrir, un message d'erreur s'affiche à chaque fois.",
            "Très déçu, avant elle marchait beaucoup mieux.",
            "Elle vide la batterie en quelques heures.",
        ),
        "closers": {
            "positive": ("Merci beaucoup à toute l'équipe !", "Cinq étoiles bien méritées."),
            "neutral": ("J'espère que la prochaine mise à jour sera meilleure.",),
            "negative": ("Merci de corriger ce problème rapidement.", "Je vais la désinstaller."),
        },
        "reply": "Bonjour {user}, nous sommes désolés. Mettez l'application à jour et"
        " contactez-nous si le problème persiste.",
        "names": ("Camille", "Julien", "Chloé", "Mathieu", "Léa", "Nicolas", "Manon", "Hugo"),
    },
    "pt": {
        "positive": (
            "Adoro este aplicativo, uso todos os dias.",
            "Funciona muito bem e é muito fácil de usar.",
            "O melhor aplicativo do gênero, recomendo muito.",
            "Tudo funciona rápido e sem travar.",
            "O {app} facilitou muito a minha vida.",
        ),
        "neutral": (
            "É bom, mas faltam algumas funções.",
            "O aplicativo funciona, mas às vezes fica lento.",
            "Não é ruim, mas eu preferia a versão anterior.",
            "É um aplicativo normal, que cumpre o básico.",
        ),
        "negative": (
            "Depois da última atualização o aplicativo fecha sozinho.",
            "Tem propaganda demais, é muito chato.",
            "Não abre, sempre aparece uma mensagem de erro.",
            "Muito decepcionado, antes funcionava bem melhor.",
            "Gasta muita bateria e trava o tempo todo.",
        ),
        "closers": {
            "positive": ("Muito obrigado!", "Cinco estrelas, com certeza."),
            "neutral": ("Espero que melhorem na próxima atualização.",),
            "negative": ("Por favor, corrijam isso logo.", "Vou desinstalar."),
        },
        "reply": "Olá {user}, sentimos muito. Atualize o aplicativo e fale com a gente se o"
        " problema continuar.",
        "names": ("João", "Ana", "Pedro", "Beatriz", "Rafael", "Mariana", "Tiago", "Larissa"),
    },
}
NAMES_EN = (
    "Emma", "Liam", "Olivia", "Noah", "Ava", "James", "Mia", "Ethan", "Grace", "Daniel",
    "Chloe", "Ryan", "Priya", "Kevin", "Aisha", "Tom", "Hannah", "Marcus", "Zoe", "Sam",
)  # fmt: skip
SCORES = {  # sentiment -> (scores, weights)
    "positive": ((5, 4), (0.7, 0.3)),
    "neutral": ((3, 2, 4), (0.6, 0.2, 0.2)),
    "negative": ((1, 2), (0.7, 0.3)),
}


def _sentiment(rng: random.Random, app: App, day: float) -> str:
    positive, neutral, negative = app.mix
    if _in_incident(app, day):
        negative *= 2
    return rng.choices(("positive", "neutral", "negative"), (positive, neutral, negative))[0]


def _version(rng: random.Random, app: App, day: float) -> str | None:
    if rng.random() < 0.1 and app.store == "google-play":
        return None  # Google Play leaves it empty for some reviews
    released = [version for version, release in app.versions if release <= day]
    # most people run the newest release; a few lag one behind
    if len(released) > 1 and rng.random() < 0.2:
        return released[-2]
    return released[-1]


def _in_incident(app: App, day: float) -> bool:
    return app.incident[0] <= day < app.incident[1]


def _english(rng: random.Random, app: App, sentiment: str, day: float) -> str:
    topics = {"positive": app.positive, "neutral": app.neutral, "negative": app.negative}
    opener = rng.choice(OPENERS[sentiment])
    parts = [opener.rstrip(".!") + "\n" if app.store == "app-store" else opener]
    if sentiment == "negative" and _in_incident(app, day) and rng.random() < 0.7:
        parts.append(app.negative[0])  # the bad release's bug
        parts += rng.sample(app.negative[1:], rng.choice((0, 0, 1)))
    else:
        parts += rng.sample(topics[sentiment], rng.choice((1, 1, 2, 2, 3)))
    if sentiment == "neutral" and rng.random() < 0.5:  # neutral: one good thing, one bad
        parts.append(rng.choice(app.positive if rng.random() < 0.5 else app.negative))
    if rng.random() < 0.4:
        parts.append(rng.choice(CLOSERS[sentiment]))
    return " ".join(parts).replace("\n ", "\n")


def _foreign(rng: random.Random, app: App, lang: str, sentiment: str) -> str:
    pool = FOREIGN[lang]
    parts = rng.sample(pool[sentiment], rng.choice((1, 2, 2, 3)))
    if rng.random() < 0.5:
        parts.append(rng.choice(pool["closers"][sentiment]))
    return " ".join(parts)


def _user(rng: random.Random, lang: str) -> str:
    first = rng.choice(NAMES_EN if lang == "en" else FOREIGN[lang]["names"])
    return f"{first} {rng.choice('ABCDEFGHJKLMNPRSTVW')}." if rng.random() < 0.8 else first


def generate(app: App) -> list[list]:
    """The app's reviews as rows in COLUMNS order, newest first."""
    rng = random.Random(f"review-queue fixtures v1 {app.app_id}")
    start = END - timedelta(days=DAYS)
    rows = []
    for _ in range(app.count):
        seconds = rng.randrange(DAYS * 86400)
        day = seconds / 86400
        at = start + timedelta(seconds=seconds)
        lang = rng.choices(tuple(LANGUAGES), tuple(LANGUAGES.values()))[0]
        sentiment = _sentiment(rng, app, day)
        scores, weights = SCORES[sentiment]
        score = rng.choices(scores, weights)[0]
        user = _user(rng, lang)
        if lang == "en":
            content = _english(rng, app, sentiment, day)
        else:
            content = _foreign(rng, app, lang, sentiment)
        content = content.replace("{app}", app.name)
        reply = None
        if sentiment == "negative" and rng.random() < 0.3 and app.store == "google-play":
            template = REPLY_EN if lang == "en" else FOREIGN[lang]["reply"]
            reply = template.format(user=user.split()[0], support=app.support)
        thumbs_up = min(int(rng.paretovariate(1.3)) - 1, 900)
        review_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if app.store == "app-store":  # the App Store's review ids are numbers
            review_id = str(10_000_000_000 + uuid.UUID(review_id).int % 9_000_000_000)
        rows.append(
            [
                review_id,
                at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                score,
                user,
                thumbs_up,
                _version(rng, app, day),
                reply,
                lang,
                content,
            ]
        )
    rows.sort(key=lambda row: (row[1], row[0]), reverse=True)
    return rows


def render(app: App) -> str:
    """The file's text: compact JSON, one review per line (so diffs stay readable)."""
    head = {"app_id": app.app_id, "title": app.title, "columns": list(COLUMNS)}
    lines = [json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in generate(app)]
    head_text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
    return head_text[:-1] + ',"reviews":[\n' + ",\n".join(lines) + "\n]}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="where to write the files")
    parser.add_argument(
        "--check", action="store_true", help="only verify that the files are up to date"
    )
    args = parser.parse_args(argv)
    stale = []
    for app in APPS:
        path = args.out / f"{app.app_id}.json"
        text = render(app)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"{path}: {app.count} reviews, {len(text.encode()):,} bytes")
    if stale:
        print("out of date (run python -m scraper_worker.make_fixtures):", *stale, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
