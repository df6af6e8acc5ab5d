-- AlterTable
ALTER TABLE "Refusal" ADD COLUMN     "payload" BYTEA;

